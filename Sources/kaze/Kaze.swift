import KazeCLI

@main
enum Kaze {
  static func main() async {
    await KazeCommand.main()
  }
}

import Foundation
import Hummingbird
import KazeModel

/// Serves the web UI: `/` is its page, `/ui/<file>` its modules, styles and translations — the
/// files of the bundle's `Web` folder — and `/novnc/<file>` the noVNC client's modules where
/// Debian's `novnc` package installs them. The UI's files are read once when the routes are
/// made, noVNC's are listed then and read when asked for; only those paths are routes, so no
/// part of a request ever chooses a file.
struct WebRoutes {
  struct Asset {
    var bytes: Data
    var contentType: String
  }

  /// Where Debian's `novnc` package puts the client; its `core` and `vendor` folders are served.
  static let noVNCDirectory = URL(fileURLWithPath: "/usr/share/novnc")

  /// Web files by their path below the `Web` folder (`app.js`, `locales/ja.json`, …).
  static let assets: [String: Asset] = {
    guard let root = Bundle.module.url(forResource: "Web", withExtension: nil) else { return [:] }
    return read(files(below: root))
  }()

  /// noVNC's modules by their path below its folder (`core/rfb.js`, …) and where each is; empty
  /// without the package. Listed once, read when asked for (only ever these files): they are
  /// needed only while someone has a display open, so they need not sit in kazed's memory.
  static let noVNC: [String: URL] = {
    files(below: noVNCDirectory.appendingPathComponent("core"), prefix: "core/").merging(
      files(below: noVNCDirectory.appendingPathComponent("vendor"), prefix: "vendor/")
    ) { first, _ in first }
  }()

  static func files(below root: URL, prefix: String = "") -> [String: URL] {
    var found: [String: URL] = [:]
    let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    while let url = walker?.nextObject() as? URL {
      guard !url.hasDirectoryPath else { continue }
      let path = String(
        url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
      found[prefix + path] = url
    }
    return found
  }

  static func read(_ files: [String: URL]) -> [String: Asset] {
    files.compactMapValues { url in
      (try? Data(contentsOf: url)).map {
        Asset(bytes: $0, contentType: contentType(of: url.pathExtension))
      }
    }
  }

  static func contentType(of fileExtension: String) -> String {
    switch fileExtension {
    case "html": "text/html; charset=utf-8"
    case "js": "text/javascript; charset=utf-8"
    case "css": "text/css; charset=utf-8"
    case "json": "application/json; charset=utf-8"
    case "svg": "image/svg+xml"
    default: "application/octet-stream"
    }
  }

  func register(_ router: Router<BasicRequestContext>) {
    for (path, asset) in Self.assets {
      router.get(RouterPath("ui/\(path)")) { _, _ in Self.response(asset) }
    }
    for (path, url) in Self.noVNC {
      router.get(RouterPath("novnc/\(path)")) { _, _ in
        guard let asset = try await runBlocking({ Self.read(["": url])[""] }) else {
          throw KazeError(.unavailable, "\(url.path) could not be read")
        }
        return Self.response(asset)
      }
    }
    if let page = Self.assets["index.html"] {
      router.get("/") { _, _ in Self.response(page) }
    }
  }

  static func response(_ asset: Asset) -> Response {
    Response(
      status: .ok,
      headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes)))
  }
}

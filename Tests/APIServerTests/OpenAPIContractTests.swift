import APIServer
import Foundation
import Testing

@Suite("OpenAPI document")
struct OpenAPIContractTests {
  /// `METHOD /path/{param}` for every operation in the checked-in document.
  static func documentedOperations() -> Set<String> {
    var operations = Set<String>()
    var currentPath: String?
    for line in KazeAPI.openAPIDocument.split(separator: "\n") {
      if line.hasPrefix("  /") && line.hasSuffix(":") {
        currentPath = String(line.dropFirst(2).dropLast())
      } else if line.hasPrefix("components:") {
        currentPath = nil
      } else if let path = currentPath, line.hasPrefix("    "), !line.hasPrefix("     "),
        line.hasSuffix(":")
      {
        let method = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
        if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) {
          operations.insert("\(method) \(path)")
        }
      }
    }
    return operations
  }

  @Test("every API route is documented and every documented route exists")
  func routesMatchDocument() async throws {
    let fixture = try await APIFixture.make()
    defer { Task { await fixture.close() } }
    let router = KazeAPI.buildRouter(environment: fixture.environment)
    let routes = Set(
      router.routes.map { route -> String in
        let path = route.path.description
          .split(separator: "/").map { part in
            part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
          }.joined(separator: "/")
        return "\(route.method.rawValue) /\(path)"
      }.filter { $0.contains("/api/v1") })
    let documented = Self.documentedOperations()
    #expect(!documented.isEmpty)
    #expect(routes.subtracting(documented).sorted() == [], "routes missing from openapi.yaml")
    #expect(documented.subtracting(routes).sorted() == [], "documented routes that do not exist")
  }
}

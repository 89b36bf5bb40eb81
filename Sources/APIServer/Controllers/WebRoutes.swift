import Foundation
import Hummingbird

/// Serves the web UI: `/` is its page, `/ui/<file>` its modules, styles and translations — the
/// files of the bundle's `Web` folder, read once when the routes are made. Only those paths are
/// routes, so no part of a request ever reaches the file system.
struct WebRoutes {
  struct Asset {
    var bytes: Data
    var contentType: String
  }

  /// Web files by their path below the `Web` folder (`app.js`, `locales/ja.json`, …).
  static let assets: [String: Asset] = {
    guard let root = Bundle.module.url(forResource: "Web", withExtension: nil) else { return [:] }
    var found: [String: Asset] = [:]
    let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    while let url = walker?.nextObject() as? URL {
      guard let bytes = try? Data(contentsOf: url), !url.hasDirectoryPath else { continue }
      let path = String(
        url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
      found[path] = Asset(bytes: bytes, contentType: contentType(of: url.pathExtension))
    }
    return found
  }()

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

import Foundation
import Hummingbird

/// Serves the web UI: `/` is its page, `/ui/<file>` its modules, styles and translations — the
/// files of the bundle's `Web` folder — and `/novnc/<file>` the noVNC client's modules where
/// Debian's `novnc` package installs them. All are read once when the routes are made; only
/// those paths are routes, so no part of a request ever reaches the file system.
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
    return files(below: root)
  }()

  /// noVNC's modules by their path below its folder (`core/rfb.js`, …); empty without the package.
  static let noVNC: [String: Asset] = {
    files(below: noVNCDirectory.appendingPathComponent("core"), prefix: "core/").merging(
      files(below: noVNCDirectory.appendingPathComponent("vendor"), prefix: "vendor/")
    ) { first, _ in first }
  }()

  static func files(below root: URL, prefix: String = "") -> [String: Asset] {
    var found: [String: Asset] = [:]
    let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    while let url = walker?.nextObject() as? URL {
      guard let bytes = try? Data(contentsOf: url), !url.hasDirectoryPath else { continue }
      let path = String(
        url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
      found[prefix + path] = Asset(bytes: bytes, contentType: contentType(of: url.pathExtension))
    }
    return found
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
    for (path, asset) in Self.noVNC {
      router.get(RouterPath("novnc/\(path)")) { _, _ in Self.response(asset) }
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

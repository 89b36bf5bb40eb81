/// Key prefixes as ranges of keys, compared the way the store orders keys: by UTF-8 bytes, which
/// is also Unicode scalar order (unlike Swift's `String` comparison, which normalises).
enum KeyPrefix {
  /// Whether `key` starts with `prefix`, byte for byte.
  static func matches(_ key: String, prefix: String) -> Bool {
    key.utf8.starts(with: prefix.utf8)
  }

  /// The smallest key greater than every key that starts with `prefix`, or nil when there is none
  /// (an empty prefix, or one made only of U+10FFFF). Keys under the prefix are then exactly those
  /// in `prefix ..< end`. This is etcd's "prefix end", computed on scalars to stay valid UTF-8.
  static func end(of prefix: String) -> String? {
    var scalars = Array(prefix.unicodeScalars)
    while let last = scalars.popLast() {
      if let next = successor(of: last) {
        scalars.append(next)
        var end = String.UnicodeScalarView()
        end.append(contentsOf: scalars)
        return String(end)
      }
    }
    return nil
  }

  private static func successor(of scalar: Unicode.Scalar) -> Unicode.Scalar? {
    var value = scalar.value + 1
    if value == 0xD800 { value = 0xE000 }  // skip the surrogate range, not valid scalars
    return Unicode.Scalar(value)
  }
}

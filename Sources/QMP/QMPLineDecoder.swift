import NIOCore

/// Splits the byte stream into lines. QMP sends one JSON object per line, ending in `\r\n`.
struct QMPLineDecoder: ByteToMessageDecoder {
  typealias InboundOut = ByteBuffer

  /// Larger lines (a stuck or hostile peer) close the connection rather than buffer forever.
  static let maximumLineLength = 64 * 1024 * 1024

  struct LineTooLong: Error, CustomStringConvertible {
    var description: String { "QMP message longer than \(QMPLineDecoder.maximumLineLength) bytes" }
  }

  /// How many readable bytes have already been searched for a newline.
  private var scanned = 0

  mutating func decode(
    context: ChannelHandlerContext, buffer: inout ByteBuffer
  ) throws
    -> DecodingState
  {
    let view = buffer.readableBytesView
    let searchStart = view.index(view.startIndex, offsetBy: min(scanned, view.count))
    guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
      scanned = view.count
      if scanned > Self.maximumLineLength { throw LineTooLong() }
      return .needMoreData
    }
    scanned = 0
    let length = newline - view.startIndex
    guard var line = buffer.readSlice(length: length) else { return .needMoreData }
    buffer.moveReaderIndex(forwardBy: 1)
    if line.readableBytesView.last == UInt8(ascii: "\r") {
      line.moveWriterIndex(to: line.writerIndex - 1)
    }
    if line.readableBytesView.contains(where: { !Self.isWhitespace($0) }) {
      context.fireChannelRead(wrapInboundOut(line))
    }
    return .continue
  }

  mutating func decodeLast(
    context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
  ) throws -> DecodingState {
    while try decode(context: context, buffer: &buffer) == .continue {}
    // QEMU ends every message with a newline; pass on an unterminated tail anyway and let
    // the JSON parser judge it.
    let rest = buffer.readSlice(length: buffer.readableBytes)
    scanned = 0
    if let rest, rest.readableBytesView.contains(where: { !Self.isWhitespace($0) }) {
      context.fireChannelRead(wrapInboundOut(rest))
    }
    return .needMoreData
  }

  private static func isWhitespace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
  }
}

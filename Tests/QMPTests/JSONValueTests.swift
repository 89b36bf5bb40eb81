import Foundation
import Testing

@testable import QMP

@Suite("JSONValue")
struct JSONValueTests {
  @Test("integers decode exactly, fractions as numbers")
  func numbers() throws {
    let value = try JSONValue(
      parsing: Data(#"{"big": 9007199254740993, "neg": -42, "frac": 1.5, "exp": 2e3}"#.utf8))
    #expect(value["big"] == .int(9_007_199_254_740_993))
    #expect(value["big"]?.intValue == 9_007_199_254_740_993)
    #expect(value["neg"] == .int(-42))
    #expect(value["frac"] == .number(1.5))
    #expect(value["frac"]?.intValue == nil)
    #expect(value["exp"]?.doubleValue == 2000)
  }

  @Test("every kind of value decodes and round-trips")
  func roundTrip() throws {
    let text = #"{"a": [true, false, null, "x\/y", 3, -0.25], "b": {"c": {}}, "d": []}"#
    let value = try JSONValue(parsing: Data(text.utf8))
    let expected: JSONValue = [
      "a": [true, false, nil, "x/y", 3, -0.25],
      "b": ["c": [:]],
      "d": [],
    ]
    #expect(value == expected)
    #expect(try JSONValue(parsing: value.jsonData()) == value)
  }

  @Test("accessors return nil for the wrong kind")
  func accessors() {
    let value: JSONValue = ["list": [1, "two"], "flag": true, "name": "vm", "none": nil]
    #expect(value["list"]?[1]?.stringValue == "two")
    #expect(value["list"]?[2] == nil)
    #expect(value["flag"]?.boolValue == true)
    #expect(value["flag"]?.stringValue == nil)
    #expect(value["name"]?.stringValue == "vm")
    #expect(value["none"]?.isNull == true)
    #expect(value["missing"] == nil)
    #expect(value[0] == nil)
    #expect(value["list"]?.arrayValue?.count == 2)
    #expect(value.objectValue?.count == 4)
  }

  @Test("description is compact JSON with sorted keys")
  func description() {
    let value: JSONValue = ["b": 1, "a": ["x", nil]]
    #expect(value.description == #"{"a":["x",null],"b":1}"#)
  }

  @Test("encodable structs convert to and from JSONValue")
  func encodableConversion() throws {
    struct Arguments: Codable, Equatable {
      var device: String
      var force: Bool
    }
    let value = try JSONValue(encoding: Arguments(device: "cd0", force: true))
    #expect(value == ["device": "cd0", "force": true])
    #expect(try value.decode(as: Arguments.self) == Arguments(device: "cd0", force: true))
    #expect(throws: QMPError.self) { try JSONValue.string("x").decode(as: Arguments.self) }
  }

  @Test("invalid JSON throws a decoding error")
  func invalid() {
    #expect(throws: QMPError.self) { try JSONValue(parsing: Data("{nope".utf8)) }
  }

  @Test("requests are one line with execute, arguments and id")
  func requestEncoding() throws {
    let line = try QMPRequest(execute: "eject", arguments: ["device": "cd0"] as JSONValue, id: 7)
      .encodedLine()
    #expect(line.last == UInt8(ascii: "\n"))
    #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false)
    let parsed = try JSONValue(parsing: line)
    #expect(parsed == ["execute": "eject", "arguments": ["device": "cd0"], "id": 7])

    let bare = try JSONValue(
      parsing: QMPRequest<JSONValue>(execute: "stop", arguments: nil, id: 8).encodedLine())
    #expect(bare == ["execute": "stop", "id": 8])
  }

  @Test("events carry their name, data and timestamp")
  func eventParsing() throws {
    let text =
      #"{"event": "STOP", "data": {"x": 1}, "#
      + #""timestamp": {"seconds": 1700000000, "microseconds": 250000}}"#
    let message = try JSONValue(parsing: Data(text.utf8))
    let event = try #require(QMPEvent(message: message))
    #expect(event.name == QMPEvent.Name.stop)
    #expect(event.data == ["x": 1])
    #expect(event.timestamp == Date(timeIntervalSince1970: 1_700_000_000.25))
  }
}

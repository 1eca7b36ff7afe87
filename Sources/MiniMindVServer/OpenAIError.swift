import Foundation
import Hummingbird
import MiniMindTokenizer

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with its HTTP status.
public struct OpenAIError: Error, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public let type: String
    public let param: String?
    public let code: String?

    public init(status: HTTPResponse.Status, message: String, type: String = "invalid_request_error",
                param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(message)" }

    static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, param: param, code: code)
    }

    /// A field of the wrong JSON type.
    static func wrongType(_ param: String, expected: String, found: OrderedJSON) -> OpenAIError {
        invalid("'\(param)' must be \(expected), found \(found.typeName)", param: param, code: "invalid_type")
    }

    var json: OrderedJSON {
        ["error": [
            "message": .string(message), "type": .string(type),
            "param": param.map(OrderedJSON.string) ?? .null, "code": code.map(OrderedJSON.string) ?? .null,
        ]]
    }

    func response(headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: json.pythonJSON)))
    }
}

extension OrderedJSON {
    /// JSON's name for the value's type, for error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

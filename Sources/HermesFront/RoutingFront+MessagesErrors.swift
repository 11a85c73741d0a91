import Foundation
import HTTPTypes
import HermesCore
import Hummingbird
import NIOCore

/// Which client family an error the front makes itself is written for. Anthropic's SDK reads
/// `{"type":"error","error":{"type","message"}}`; OpenAI's reads `{"error":{"message","type","code"}}`.
enum ErrorShape: Sendable {
    case openAI
    case anthropic

    /// Set around the handling of a request on an Anthropic path, so every error built while handling
    /// it (auth, body, routing, all upstreams failed) has that client's shape without threading a
    /// parameter through each of them.
    @TaskLocal static var current: ErrorShape = .openAI

    /// The shape for a path: `/v1/messages` and everything under it is Anthropic's.
    static func forPath(_ path: String) -> ErrorShape {
        path == "/v1/messages" || path.hasPrefix("/v1/messages/") ? .anthropic : .openAI
    }
}

/// Anthropic's error `type` for a status (docs.anthropic.com, "Errors").
func anthropicErrorType(status: Int) -> String {
    switch status {
    case 400, 409, 422: return "invalid_request_error"
    case 401: return "authentication_error"
    case 403: return "permission_error"
    case 404: return "not_found_error"
    case 413: return "request_too_large"
    case 429: return "rate_limit_error"
    case 529, 503: return "overloaded_error"
    default: return status >= 500 ? "api_error" : "invalid_request_error"
    }
}

/// `{"type":"error","error":{"type":...,"message":...}}`. The front's own code (`unknown_profile`,
/// `all_upstreams_failed`) rides along as `error.code`: Anthropic's clients ignore it, people read it.
func anthropicErrorBody(status: Int, message: String, code: String) -> ByteBuffer {
    let object: [String: Any] = [
        "type": "error",
        "error": ["type": anthropicErrorType(status: status), "message": message, "code": code],
    ]
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return ByteBuffer(bytes: data)
}

/// The last event of a stream that cannot go on, framed for the client: Anthropic's `event: error` (its
/// clients stop there and know no `[DONE]`), or OpenAI's `data:` error then `data: [DONE]`. `body` is the
/// error object already in that shape. The leading blank lines end any half-written event, so this one
/// parses on its own.
func sseErrorEvent(_ body: ByteBuffer, shape: ErrorShape) -> ByteBuffer {
    var out = ByteBuffer(string: shape == .anthropic ? "\n\nevent: error\ndata: " : "\n\ndata: ")
    out.writeImmutableBuffer(body)
    out.writeString(shape == .anthropic ? "\n\n" : "\n\ndata: [DONE]\n\n")
    return out
}

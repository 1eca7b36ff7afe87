import Foundation
import MiniMindV

/// Turns an `image_url.url` into a decoded image: `data:image/png;base64,…` and
/// `data:image/jpeg;base64,…` always; a local path or `file://` URL only inside `allowedFolder`.
/// The server fetches nothing from the network, so `http(s)` URLs are refused.
struct ImageInput {
    var allowedFolder: URL?
    /// Most bytes one encoded image may have (after base64 decoding).
    var maxBytes: Int
    var limits: ImageDecodingLimits

    func image(from url: String, param: String) throws -> PromptImage {
        let lower = url.prefix(16).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            throw OpenAIError.invalid("image URLs are not fetched by this server: send the image inline as a data URL "
                                      + "(data:image/png;base64,… or data:image/jpeg;base64,…)", param: param, code: "invalid_image_url")
        }
        if lower.hasPrefix("data:") { return try dataURL(url, param: param) }
        return try localFile(url, param: param)
    }

    private func dataURL(_ url: String, param: String) throws -> PromptImage {
        guard let comma = url.firstIndex(of: ",") else {
            throw OpenAIError.invalid("a data URL needs a ',' before its data", param: param, code: "invalid_image_url")
        }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma].lowercased()
        let parts = header.split(separator: ";").map(String.init)
        let mime = parts.first ?? ""
        guard ["image/png", "image/jpeg", "image/jpg"].contains(mime) else {
            throw OpenAIError.invalid("unsupported image type '\(mime)': send image/png or image/jpeg", param: param, code: "invalid_image_format")
        }
        guard parts.contains("base64") else {
            throw OpenAIError.invalid("the image data URL must be base64 (data:\(mime);base64,…)", param: param, code: "invalid_image_url")
        }
        let payload = url[url.index(after: comma)...]
        // base64 is 4/3 of the bytes: refuse before decoding what would be too large anyway.
        guard payload.utf8.count / 4 * 3 <= maxBytes + 3 else {
            throw OpenAIError(status: .contentTooLarge, message: "the image is larger than \(maxBytes) bytes", param: param, code: "image_too_large")
        }
        guard let data = Data(base64Encoded: String(payload)) else {
            throw OpenAIError.invalid("the image data is not valid base64", param: param, code: "invalid_base64")
        }
        return try decode(data, source: "\(param) (\(mime))", param: param)
    }

    private func localFile(_ url: String, param: String) throws -> PromptImage {
        guard let folder = allowedFolder else {
            throw OpenAIError.invalid("image must be a data URL (data:image/png;base64,…); local files are served only "
                                      + "with --allow-files DIR", param: param, code: "invalid_image_url")
        }
        let path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
        let base = URL(fileURLWithPath: folder.path, isDirectory: true)  // relative paths resolve inside it
        let file = URL(fileURLWithPath: path, relativeTo: base).standardizedFileURL.resolvingSymlinksInPath()
        let root = folder.standardizedFileURL.resolvingSymlinksInPath().path
        guard file.path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw OpenAIError.invalid("'\(path)' is outside the folder given by --allow-files", param: param, code: "invalid_image_url")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? nil
        guard let size else { throw OpenAIError.invalid("image file not found: \(path)", param: param, code: "invalid_image_url") }
        guard size <= maxBytes else {
            throw OpenAIError(status: .contentTooLarge, message: "the image file is larger than \(maxBytes) bytes", param: param, code: "image_too_large")
        }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw OpenAIError.invalid("image file not readable: \(path)", param: param, code: "invalid_image_url")
        }
        return try decode(data, source: path, param: param)
    }

    private func decode(_ data: Data, source: String, param: String) throws -> PromptImage {
        do {
            let image = try RGBImage(data: data, limits: limits, source: source)
            return .image(image)
        } catch let error as ImageError {
            if case .tooLarge = error {
                throw OpenAIError(status: .contentTooLarge, message: "\(error)", param: param, code: "image_too_large")
            }
            throw OpenAIError.invalid("the image could not be decoded: \(error)", param: param, code: "invalid_image")
        }
    }
}

import Foundation

/// Reading a Hugging Face `preprocessor_config.json` (CLIP and SigLIP image processors).
/// Missing keys take the defaults of transformers' processor class for that family
/// (CLIP: bicubic, centre crop, OpenAI mean/std; SigLIP: bilinear per the MiniMind-V spec, mean = std = 0.5).
extension ImagePreprocessing {
    public init(preprocessorConfig url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FileManager.default.fileExists(atPath: url.path)
                ? ImageError.unreadable(path: url.path, reason: error.localizedDescription)
                : ImageError.fileNotFound(path: url.path)
        }
        try self.init(preprocessorConfigData: data, source: url.path)
    }

    public init(preprocessorConfigData data: Data, source: String = "preprocessor_config.json") throws {
        // JSONDecoder parses numbers correctly rounded (JSONSerialization on Linux can be 1 ulp off,
        // e.g. for 0.00392156862745098 = 1/255, which would change rescaled values).
        let document: JSONValue
        do { document = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw ImageError.invalidConfig(file: source, key: "(document)", expected: "a JSON object",
                                           found: "invalid JSON: \(error.localizedDescription)")
        }
        guard case .object(let json) = document else {
            throw ImageError.invalidConfig(file: source, key: "(document)", expected: "a JSON object", found: "\(document)")
        }
        let reader = ConfigReader(json: json, file: source)
        let type = json["image_processor_type"]?.string ?? json["feature_extractor_type"]?.string ?? ""
        let kind: Kind = type.lowercased().hasPrefix("clip") ? .clip : (type.lowercased().hasPrefix("siglip") ? .siglip : .custom)
        if json["max_num_patches"] != nil {
            throw ImageError.unsupportedConfig(file: source, key: "max_num_patches", value: "present",
                                               hint: "Siglip2 NaFlex (variable resolution) preprocessing is not implemented; "
                                                   + "use a fixed-resolution SigLIP config with size {height, width}")
        }

        var resize: Resize?
        if try reader.bool("do_resize") ?? true {
            guard let size = try reader.size("size") else {
                throw ImageError.invalidConfig(file: source, key: "size",
                                               expected: "{\"shortest_edge\": n} or {\"height\": h, \"width\": w} or n",
                                               found: "nothing")
            }
            resize = size
        }

        let resampleCode = try reader.int("resample")
        let resample: ResampleFilter
        if let code = resampleCode {
            guard let filter = ResampleFilter(rawValue: code) else {
                throw ImageError.unsupportedConfig(file: source, key: "resample", value: "\(code)",
                                                   hint: "supported: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING "
                                                       + "(0 NEAREST is not implemented)")
            }
            resample = filter
        } else {
            resample = kind == .clip ? .bicubic : .bilinear
        }

        var crop: ImageSize?
        if try reader.bool("do_center_crop") ?? (kind == .clip) {
            switch try reader.size("crop_size") {
            case .exact(let w, let h)?: crop = ImageSize(width: w, height: h)
            case .shortestEdge(let n)?:
                // An integer crop_size means a square crop.
                crop = ImageSize(width: n, height: n)
            case nil:
                if kind == .clip { crop = ImageSize(width: 224, height: 224) } else {
                    throw ImageError.invalidConfig(file: source, key: "crop_size", expected: "{\"height\": h, \"width\": w}",
                                                   found: "nothing (do_center_crop is true)")
                }
            }
        }

        var rescale: Double?
        if try reader.bool("do_rescale") ?? true {
            let factor = try reader.double("rescale_factor") ?? 1.0 / 255.0
            guard factor.isFinite else {
                throw ImageError.invalidConfig(file: source, key: "rescale_factor", expected: "a finite number", found: "\(factor)")
            }
            rescale = factor
        }

        var mean: [Double]?, std: [Double]?
        if try reader.bool("do_normalize") ?? true {
            let defaultMean = kind == .clip ? Self.clipMean : (kind == .siglip ? [0.5, 0.5, 0.5] : nil)
            let defaultStd = kind == .clip ? Self.clipStd : (kind == .siglip ? [0.5, 0.5, 0.5] : nil)
            guard let m = try reader.triple("image_mean") ?? defaultMean else {
                throw ImageError.invalidConfig(file: source, key: "image_mean", expected: "3 numbers", found: "nothing")
            }
            guard let s = try reader.triple("image_std") ?? defaultStd else {
                throw ImageError.invalidConfig(file: source, key: "image_std", expected: "3 numbers", found: "nothing")
            }
            guard m.allSatisfy({ $0.isFinite }) else {
                throw ImageError.invalidConfig(file: source, key: "image_mean", expected: "finite numbers", found: "\(m)")
            }
            guard s.allSatisfy({ $0.isFinite && $0 != 0 }) else {
                throw ImageError.invalidConfig(file: source, key: "image_std", expected: "finite non-zero numbers", found: "\(s)")
            }
            mean = m
            std = s
        }
        self.init(kind: kind, resize: resize, resample: resample, crop: crop, rescaleFactor: rescale, mean: mean, std: std)
    }
}

/// A JSON document as decoded by JSONDecoder.
private enum JSONValue: Decodable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var string: String? { if case .string(let s) = self { return s }; return nil }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return "\(n)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

/// Typed access to JSON values with errors that name the key.
private struct ConfigReader {
    let json: [String: JSONValue]
    let file: String
    /// Sizes beyond this are configuration mistakes, not images.
    let maxSide = 16384

    func fail(_ key: String, _ expected: String, _ value: JSONValue) -> ImageError {
        .invalidConfig(file: file, key: key, expected: expected, found: value.description)
    }

    func value(_ key: String) -> JSONValue? {
        guard let v = json[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw fail(key, "true or false", v) }
        return b
    }

    func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        return try number(v, key: key)
    }

    func number(_ v: JSONValue, key: String) throws -> Double {
        guard case .number(let n) = v else { throw fail(key, "a number", v) }
        return n
    }

    func integer(_ v: JSONValue, key: String) throws -> Int {
        let d = try number(v, key: key)
        guard d.rounded() == d, abs(d) <= Double(Int32.max) else { throw fail(key, "an integer", v) }
        return Int(d)
    }

    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        return try integer(v, key: key)
    }

    func side(_ v: JSONValue, key: String) throws -> Int {
        let n = try integer(v, key: key)
        guard n >= 1 && n <= maxSide else { throw fail(key, "a size in 1...\(maxSide)", v) }
        return n
    }

    /// `n` → shortest edge (transformers 5 reads a bare integer so for CLIP and SigLIP);
    /// `{shortest_edge}` or `{height, width}`.
    func size(_ key: String) throws -> ImagePreprocessing.Resize? {
        guard let v = value(key) else { return nil }
        if case .number = v { return .shortestEdge(try side(v, key: key)) }
        guard case .object(let dict) = v else {
            throw fail(key, "an integer or an object with shortest_edge or height and width", v)
        }
        if let longest = dict["longest_edge"] {
            throw ImageError.unsupportedConfig(file: file, key: "\(key).longest_edge", value: longest.description,
                                               hint: "only shortest_edge or height/width sizes are implemented")
        }
        if let short = dict["shortest_edge"] { return .shortestEdge(try side(short, key: "\(key).shortest_edge")) }
        guard let h = dict["height"], let w = dict["width"] else {
            throw fail(key, "shortest_edge, or both height and width", v)
        }
        return .exact(width: try side(w, key: "\(key).width"), height: try side(h, key: "\(key).height"))
    }

    /// Three per-channel numbers, or one number for all channels.
    func triple(_ key: String) throws -> [Double]? {
        guard let v = value(key) else { return nil }
        if case .number(let n) = v { return [n, n, n] }
        guard case .array(let list) = v, list.count == 3 else { throw fail(key, "3 numbers (one per RGB channel)", v) }
        return try list.map { try number($0, key: key) }
    }
}

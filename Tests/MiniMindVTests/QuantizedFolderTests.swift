import XCTest
@testable import MiniMindV

/// Quantised model folders (`convert --quantize int8|int4`): written, loaded into packed layers with
/// the same bytes as quantising in memory, written again byte for byte, generating, close to the
/// float model; corrupt scales and unknown schemes are typed errors.
final class QuantizedFolderTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("quant-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func tinyFolder() throws -> URL {
        let tokenizer = try Tokenizer(contentsOf: ConvertRoundTripTests.tokenizerFolder)
        let model = try GenerationTestSupport.tinyVLM(tokenizer: tokenizer)
        let folder = scratch.appendingPathComponent("model")
        try VLMBundle(model: model, tokenizer: tokenizer).save(to: folder, tokenizerFiles: ConvertRoundTripTests.tokenizerFolder)
        return folder
    }

    func quantised(_ source: URL, _ scheme: WeightQuantization.Scheme, name: String? = nil) throws -> URL {
        let out = scratch.appendingPathComponent(name ?? scheme.rawValue)
        try ModelConversion(input: source, output: out, quantize: WeightQuantization(scheme)).run()
        return out
    }

    func lm(_ bundle: VLMBundle) throws -> MiniMindLM { try XCTUnwrap(bundle.model.language as? MiniMindLM) }

    func logits(_ bundle: VLMBundle) -> Tensor {
        noGrad { bundle.model.logits(ids: [1, 300, 301, 302, 303, 304, 305, 306, 307, 308]) }
    }

    func testFoldersRoundTripWithIdenticalPackedBytesAndGenerate() throws {
        let source = try tinyFolder()
        let float = try VLMBundle.load(folder: source)
        let reference = logits(float)
        var previousDiff: Float = 0
        for scheme in WeightQuantization.Scheme.allCases {
            let folder = try quantised(source, scheme)
            let config = try ModelSource.readConfig(folder.appendingPathComponent("config.json"))
            XCTAssertEqual(config.quantization, WeightQuantization(scheme))
            let file = try Safetensors.read(folder.appendingPathComponent("model.safetensors"))
            let q = try file.require("model.layers.0.mlp.down_proj.weight"), s = try file.require("model.layers.0.mlp.down_proj.weight_scale")
            XCTAssertEqual(q.dtype, scheme == .int8 ? .i8 : .u8)
            XCTAssertEqual(q.shape, scheme == .int8 ? [32, 64] : [32, 32])
            XCTAssertEqual(s.dtype, scheme == .int8 ? .f32 : .f16)
            XCTAssertEqual(s.shape, scheme == .int8 ? [32] : [32, 2])
            XCTAssertEqual(try file.require("model.embed_tokens.weight").dtype, .f32, "embeddings stay float")
            XCTAssertTrue(ModelInspection.configurationLines(path: folder, shapes: Weights.shapes(file)).contains("weights: agree with config.json"))

            // Loading packs the file's values: the same bytes as quantising the float model in memory.
            let loaded = try VLMBundle.load(folder: folder)
            let inMemory = try VLMBundle.load(folder: source)
            XCTAssertEqual(try QuantizedWeights.quantize(try lm(inMemory), WeightQuantization(scheme)), 14)
            let a = QuantizedWeights.layers(of: try lm(loaded)), b = QuantizedWeights.layers(of: try lm(inMemory))
            XCTAssertEqual(a.count, 14)
            for (x, y) in zip(a, b) {
                let p = try XCTUnwrap(x.layer as? PackedLinear), r = try XCTUnwrap(y.layer as? PackedLinear)
                XCTAssertFalse(p.storesDenseWeight, "no float32 copy of \(x.path)")
                XCTAssertEqual(p.packed.storage, r.packed.storage, x.path)
            }
            XCTAssertEqual(logits(loaded).toArray(), logits(inMemory).toArray())

            // Saved again, the file is the same tensors.
            let again = scratch.appendingPathComponent("\(scheme.rawValue)-again")
            try loaded.save(to: again, tokenizerFiles: folder)
            let second = try Safetensors.read(again.appendingPathComponent("model.safetensors"))
            XCTAssertEqual(Set(second.keys), Set(file.keys))
            for name in file.keys { XCTAssertEqual(second[name], file[name], name) }
            XCTAssertEqual(try ModelSource.readConfig(again.appendingPathComponent("config.json")).quantization, WeightQuantization(scheme))

            // Close to the float model, and it generates (the decode steps through the packed kernels).
            let diff = ModelFixtures.maxAbsDiff(logits(loaded), reference), range = reference.toArray().map(abs).max()!
            print("tiny VLM \(scheme): max |logit − f32 logit| = \(diff) (max |f32 logit| \(range))")
            XCTAssertGreaterThan(diff, previousDiff, "int4 costs more than int8, both more than nothing")
            XCTAssertLessThan(diff, (scheme == .int8 ? 0.05 : 1) * range)
            previousDiff = diff
            var options = SamplingOptions()
            options.greedy = true
            options.maxNewTokens = 6
            let result = try Generator(bundle: loaded).generate(text: "the cat sat", options: options)
            XCTAssertFalse(result.ids.isEmpty)
            XCTAssertEqual(try Generator(bundle: try VLMBundle.load(folder: again)).generate(text: "the cat sat", options: options).ids, result.ids)
        }
        XCTAssertThrowsError(try ModelConversion(input: scratch.appendingPathComponent("int8"), output: scratch.appendingPathComponent("x"),
                                                 quantize: WeightQuantization(.int4)).run()) { error in
            XCTAssertTrue("\(error)".contains("quantised"), "\(error)")
        }
    }

    /// Rewrites the folder's model.safetensors with `edit` applied.
    func editWeights(_ folder: URL, _ edit: (inout StateDict) throws -> Void) throws {
        let url = folder.appendingPathComponent("model.safetensors")
        var state = try Safetensors.read(data: try Data(contentsOf: url))
        try edit(&state)
        try Safetensors.write(state, to: url)
    }

    func expectLoadError(_ folder: URL, _ expected: CompressionError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try VLMBundle.load(folder: folder), file: file, line: line) { error in
            XCTAssertEqual(error as? CompressionError, expected, "\(error)", file: file, line: line)
        }
    }

    func testCorruptScalesAndUnknownSchemeAreTypedErrors() throws {
        let source = try tinyFolder()
        let name = "model.layers.1.self_attn.q_proj.weight"
        for (i, scheme) in WeightQuantization.Scheme.allCases.enumerated() {
            let folder = try quantised(source, scheme, name: "bad\(i)")
            let scaleDType: DType = scheme == .int8 ? .f32 : .f16
            let good = scheme == .int8 ? [32] : [32, 1]
            try editWeights(folder) { $0[name + "_scale"] = try TensorData(tensor: Tensor.ones([31]), dtype: scaleDType) }
            expectLoadError(folder, .badTensor(name: name + "_scale", expected: "\(scaleDType.rawValue) \(good)", found: "\(scaleDType.rawValue) [31]"))
            try editWeights(folder) { $0[name + "_scale"] = try TensorData(tensor: Tensor.ones(good), dtype: .f32 == scaleDType ? .f16 : .f32) }
            expectLoadError(folder, .badTensor(name: name + "_scale", expected: "\(scaleDType.rawValue) \(good)",
                                               found: "\(scaleDType == .f32 ? "F16" : "F32") \(good)"))
            var nan = Tensor.ones(good).toArray()
            nan[3] = .nan
            try editWeights(folder) { $0[name + "_scale"] = try TensorData(tensor: Tensor(shape: good, data: nan), dtype: scaleDType) }
            expectLoadError(folder, .nonFinite(name: name + "_scale", index: 3))
            try editWeights(folder) {
                $0[name + "_scale"] = try TensorData(tensor: Tensor.ones(good), dtype: scaleDType)
                $0[name] = try TensorData(tensor: Tensor.ones([32, 32]))
            }
            let valueShape = scheme == .int8 ? "I8 [32, 32]" : "U8 [32, 16]"
            expectLoadError(folder, .badTensor(name: name, expected: valueShape, found: "F32 [32, 32]"))
            try editWeights(folder) { $0[name] = nil }
            expectLoadError(folder, .missingTensor(name: name))
        }
        // An unknown scheme or group size in config.json.
        let folder = try quantised(source, .int8, name: "scheme")
        let configURL = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"int8\"", with: "\"int3\"").write(to: configURL, atomically: true, encoding: .utf8)
        expectLoadError(folder, .unknownValue(field: "quantization.scheme", value: "int3", allowed: ["int8", "int4"]))
        try text.replacingOccurrences(of: "\"F32\"", with: "\"BF16\"").write(to: configURL, atomically: true, encoding: .utf8)
        expectLoadError(folder, .unknownValue(field: "quantization.scale_dtype", value: "BF16", allowed: ["F32", "F16"]))
    }
}

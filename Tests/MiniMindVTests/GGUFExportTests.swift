import XCTest
@testable import MiniMindV

/// GGUF export against gguf-py (llama.cpp's Python package): quantised blocks byte-equal to its
/// quantiser, and whole files equal — every metadata key with its type and value, every tensor's
/// name, shape, type and bytes — to the files its GGUFWriter writes for the same tiny models the
/// way llama.cpp's converter does (Scripts/gen_gguf_fixtures.py). Set MINIMIND_EXPORT_DIR to keep
/// our files for `python3 Scripts/gen_gguf_fixtures.py --validate DIR/*.gguf`.
final class GGUFExportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf")

    func testQuantisersMatchGGUFPyBytes() throws {
        let x = try NPYFile.read(Self.fixtures.appendingPathComponent("quant_inputs.npy")).toTensor()
        XCTAssertEqual(x.shape, [24, 32])
        let values = UnsafeBufferPointer(start: x.pointer, count: x.count)
        var q8: [UInt8] = [], q4: [UInt8] = []
        GGMLQuants.quantizeQ8_0(values, into: &q8)
        GGMLQuants.quantizeQ4_0(values, into: &q4)
        XCTAssertEqual(q8, [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("quant_q8_0.bin"))))
        XCTAssertEqual(q4, [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("quant_q4_0.bin"))))
    }

    func testLlamaExportEqualsReferenceWriter() throws { try compareWithReference(arch: "llama") }

    func testQwen3ExportEqualsReferenceWriter() throws { try compareWithReference(arch: "qwen3") }

    /// An f32 export read back gives the model's logits exactly (names, q/k order and config restored).
    func testF32RoundTripKeepsLogitsExactly() throws {
        for arch in ["llama", "qwen3"] {
            let lm = try Self.tinyModel(arch)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("rt-\(UUID().uuidString).gguf")
            defer { try? FileManager.default.removeItem(at: url) }
            try GGUFExport.write(lm, tokenizer: try Self.tokenizer(), type: .f32, name: "rt", to: url)
            let back = try GGUFImport.load(url)
            XCTAssertEqual(back.config, lm.config, arch)
            let ids = [1, 300, 301, 302, 2, 5, 4000]
            let a = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1)) }.toArray()
            let b = noGrad { back.logits(embeddings: back.embed(ids, batch: 1)) }.toArray()
            XCTAssertEqual(a.count, ids.count * 6400)
            XCTAssertEqual(a, b, arch)
        }
    }

    /// MoE decoders llama.cpp computes the same way (top-k softmax, renormalised, no shared expert) round
    /// trip exactly as `qwen3moe` (minimind-3) or `llama` with experts; shared experts are refused.
    /// With MINIMIND_EXPORT_DIR the q8_0 files are kept for `gen_gguf_fixtures.py --validate`, which
    /// builds the same files with gguf-py (the weights are the script's formula).
    func testMoERoundTripsExactlyAndSharedExpertsAreRefused() throws {
        var qwen = try Self.config("qwen3")
        qwen.moe = MoEConfig(flavour: .minimind3, expertIntermediateSize: 96)
        var llama = try Self.config("llama")
        llama.moe = MoEConfig(flavour: .minimind2, sharedExperts: 0, expertIntermediateSize: 64)
        let keep = ProcessInfo.processInfo.environment["MINIMIND_EXPORT_DIR"]
        for (arch, config) in [("qwen3moe", qwen), ("llama", llama)] {
            let lm = try Self.tinyModel(config: config)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("moe-\(UUID().uuidString).gguf")
            defer { try? FileManager.default.removeItem(at: url) }
            try GGUFExport.write(lm, tokenizer: try Self.tokenizer(), type: .f32, name: "tiny-\(arch)-moe", to: url)
            let file = try GGUFFile.read(url)
            XCTAssertEqual(file["general.architecture"]?.stringValue, arch)
            XCTAssertEqual(file["\(arch).expert_count"]?.intValue, 4)
            XCTAssertEqual(file["\(arch).expert_used_count"]?.intValue, arch == "llama" ? 2 : 1)
            let hidden = config.hiddenSize, width = config.moe!.expertIntermediateSize
            XCTAssertEqual(file.tensor("blk.0.ffn_gate_inp.weight")?.shape, [4, hidden])
            XCTAssertEqual(file.tensor("blk.1.ffn_gate_exps.weight")?.shape, [4, width, hidden])
            XCTAssertEqual(file.tensor("blk.1.ffn_up_exps.weight")?.shape, [4, width, hidden])
            XCTAssertEqual(file.tensor("blk.1.ffn_down_exps.weight")?.shape, [4, hidden, width])
            XCTAssertNil(file.tensor("blk.0.ffn_gate.weight"))
            let back = try GGUFImport.load(url)
            XCTAssertEqual(back.config, lm.config, arch)
            let ids = [1, 300, 301, 302, 2, 5, 4000]
            XCTAssertEqual(noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1)) }.toArray(),
                           noGrad { back.logits(embeddings: back.embed(ids, batch: 1)) }.toArray(), arch)
            // q8_0 stacks quantise per row block like the dense matrices; the router stays f32.
            let q8 = keep.map { URL(fileURLWithPath: $0).appendingPathComponent("swift_moe_\(arch)_q8_0.gguf") } ?? url
            try GGUFExport.write(lm, tokenizer: try Self.tokenizer(), type: .q8_0, name: "tiny-\(arch)-moe", to: q8)
            let q = try GGUFFile.read(q8)
            XCTAssertEqual(q.tensor("blk.0.ffn_gate_inp.weight")?.type, .f32)
            XCTAssertEqual(q.tensor("blk.0.ffn_up_exps.weight")?.type, .q8_0)
            XCTAssertNoThrow(try GGUFImport.load(q8))
        }
        var shared = try Self.config("llama")
        shared.moe = MoEConfig(flavour: .minimind2, expertIntermediateSize: 64)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moe-\(UUID().uuidString).gguf")
        XCTAssertThrowsError(try GGUFExport.write(try MiniMindLM(config: shared), tokenizer: try Self.tokenizer(), type: .f32, name: "moe", to: url)) {
            XCTAssertTrue("\($0)".contains("shared experts"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    /// `inspect` of a GGUF file lists the metadata and tensors and says what the importer makes of it.
    func testInspectionDescribesFileAndImport() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        let lm = try Self.tinyModel("qwen3")
        try GGUFExport.write(lm, tokenizer: try Self.tokenizer(), type: .q4_0, name: "tiny", to: url)
        XCTAssertTrue(GGUFInspection.isGGUF(url))
        XCTAssertFalse(GGUFInspection.isGGUF(Self.fixtures.appendingPathComponent("models.json")))
        let text = GGUFInspection.lines(try GGUFFile.read(url)).joined(separator: "\n")
        XCTAssertTrue(text.contains("general.architecture"), text)
        XCTAssertTrue(text.contains("qwen3.block_count"), text)
        XCTAssertTrue(text.contains("[string] × 6400"), text)
        XCTAssertTrue(text.contains("blk.1.attn_q_norm.weight"), text)
        XCTAssertTrue(text.range(of: #"token_embd.weight\s+Q4_0\s+\[6400, 32\]"#, options: .regularExpression) != nil, text)
        XCTAssertTrue(text.contains("minimind-v import: qwen3 decoder " + ModelInspection.describe(lm.config)), text)
        XCTAssertTrue(text.contains("minimind-v import: loads"), text)
        XCTAssertFalse(text.contains("\n<|im_start|>"), "the chat template's newlines are escaped")
        // A file the importer refuses says why.
        var file = try GGUFFile.read(url)
        var writerTensors: [GGUFTensor] = []
        for t in file.tensors where t.name != "blk.0.attn_v.weight" {
            writerTensors.append(GGUFTensor(name: t.name, shape: t.shape, type: t.type, bytes: [UInt8](file.bytes(of: t))))
        }
        try GGUFWriter.write(metadata: file.metadata.map { ($0.key, $0.value) }, tensors: writerTensors, to: url)
        file = try GGUFFile.read(url)
        let refused = GGUFInspection.lines(file, tensors: false).joined(separator: "\n")
        XCTAssertTrue(refused.contains("refused — missing tensors blk.0.attn_v.weight"), refused)
    }

    /// Truncated and corrupted files end in a CheckpointError, never a crash or a huge allocation.
    func testDamagedFilesAreRefused() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("ref_qwen3_q4_0.gguf"))
        for cut in [0, 3, 8, 20, 24, 40, 100, 1000, 50_000, data.count - 1] {
            XCTAssertThrowsError(try GGUFFile.read(data: data.prefix(cut)), "cut \(cut)") { XCTAssertTrue($0 is CheckpointError, "\($0)") }
        }
        var g = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            var bad = data
            let at = Int(g.nextDouble() * 200_000) % data.count
            for k in 0..<8 where at + k < bad.count { bad[at + k] = 0xFF }
            do { _ = try GGUFFile.read(data: bad) } catch { XCTAssertTrue(error is CheckpointError, "\(error)") }
        }
        var version = data
        version[4] = 9
        XCTAssertThrowsError(try GGUFFile.read(data: version)) { XCTAssertTrue("\($0)".contains("version 9"), "\($0)") }
    }

    // MARK: helpers

    static func tokenizer() throws -> Tokenizer {
        try Tokenizer(contentsOf: ConvertRoundTripTests.tokenizerFolder)
    }

    static func config(_ arch: String) throws -> LanguageModelConfig {
        let all = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("models.json"))) as? [String: [String: Any]])
        let c = try XCTUnwrap(all[arch])
        func int(_ k: String) throws -> Int { try XCTUnwrap(c[k] as? Int, k) }
        return LanguageModelConfig(vocabSize: try int("vocab"), hiddenSize: try int("hidden"), numHiddenLayers: try int("layers"),
                                   numAttentionHeads: try int("heads"), numKeyValueHeads: try int("kv_heads"),
                                   headDim: try int("head_dim"), intermediateSize: try int("ffn"),
                                   rmsNormEps: Float(try XCTUnwrap(c["eps"] as? Double)),
                                   ropeTheta: try XCTUnwrap(c["theta"] as? Double), maxPositionEmbeddings: try int("ctx"),
                                   qkNorm: try XCTUnwrap(c["qk_norm"] as? Bool))
    }

    /// The script's formula weights: tensor t (sorted names), element i:
    /// ((7919·i + 104729·t) mod 2001 − 1000) / 4096; norms 1 + that / 8.
    static func tinyModel(_ arch: String) throws -> MiniMindLM { try tinyModel(config: try config(arch)) }

    static func tinyModel(config: LanguageModelConfig) throws -> MiniMindLM {
        let lm = try MiniMindLM(config: config)
        let params = Dictionary(lm.stateDict().map { ($0.0, $0.1) }) { a, _ in a }
        for (t, name) in params.keys.filter({ $0 != "lm_head.weight" }).sorted().enumerated() {
            let w = params[name]!
            let p = w.mutablePointer
            for i in 0..<w.count {
                let v = Float((i * 7919 + t * 104729) % 2001 - 1000) / 4096
                p[i] = w.shape.count == 1 ? 1 + v / 8 : v
            }
        }
        lm.eval()
        return lm
    }

    func compareWithReference(arch: String) throws {
        let type: GGUFExport.WeightType = arch == "llama" ? .q8_0 : .q4_0
        let keep = ProcessInfo.processInfo.environment["MINIMIND_EXPORT_DIR"]
        let url = keep.map { URL(fileURLWithPath: $0).appendingPathComponent("swift_\(arch)_\(type.rawValue).gguf") }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString).gguf")
        defer { if keep == nil { try? FileManager.default.removeItem(at: url) } }
        try GGUFExport.write(try Self.tinyModel(arch), tokenizer: try Self.tokenizer(), type: type, name: "tiny-\(arch)", to: url)
        let ours = try GGUFFile.read(url)
        let reference = try GGUFFile.read(Self.fixtures.appendingPathComponent("ref_\(arch)_\(type.rawValue).gguf"))
        XCTAssertEqual(ours.version, 3)
        XCTAssertEqual(ours.metadata.map(\.key).sorted(), reference.metadata.map(\.key).sorted())
        for (key, value) in reference.metadata { XCTAssertEqual(ours[key], value, key) }
        XCTAssertEqual(ours.tensors.map(\.name), reference.tensors.map(\.name))
        // llama: embedding, 9 per layer, output norm (output tied); qwen3 adds q/k norms per layer.
        XCTAssertEqual(reference.tensors.count, arch == "llama" ? 20 : 24)
        for (a, b) in zip(ours.tensors, reference.tensors) {
            XCTAssertEqual(a.shape, b.shape, a.name)
            XCTAssertEqual(a.type, b.type, a.name)
            XCTAssertTrue(ours.bytes(of: a).elementsEqual(reference.bytes(of: b)), a.name)
        }
        XCTAssertEqual(reference.tensor("token_embd.weight")?.type, type == .q8_0 ? .q8_0 : .q4_0)
        XCTAssertEqual(reference.tensor("output_norm.weight")?.type, .f32)
    }
}

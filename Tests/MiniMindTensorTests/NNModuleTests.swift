import XCTest
@testable import MiniMindTensor

/// A tiny model shaped like MiniMind's key layout, built from the public module API.
private final class Block: Module {
    let q: Linear, norm: RMSNorm, up: Linear
    init(dim: Int, generator g: inout SeededGenerator) {
        let attention = Module()
        q = Linear(dim, dim, bias: false, generator: &g)
        norm = RMSNorm(dim)
        up = Linear(dim, 2 * dim, bias: true, generator: &g)
        let mlp = Module()
        super.init()
        register(child: "self_attn", attention)
        attention.register(child: "q_proj", q)
        register(child: "input_layernorm", norm)
        register(child: "mlp", mlp)
        mlp.register(child: "up_proj", up)
    }
}

private final class TinyLM: Module {
    let embed: Embedding, layers: ModuleList<Block>, head: Linear, proj: Linear, dropout = Dropout(p: 0.5)
    init(vocab: Int = 11, dim: Int = 4, layerCount: Int = 12) {
        var g = SeededGenerator(seed: 1)
        let model = Module()
        embed = Embedding(vocab, dim, generator: &g)
        layers = ModuleList((0..<layerCount).map { _ in Block(dim: dim, generator: &g) })
        head = Linear(weight: embed.weight)  // tied, like MiniMind's lm_head
        proj = Linear(3, dim, generator: &g)
        super.init()
        register(child: "model", model)
        model.register(child: "embed_tokens", embed)
        model.register(child: "layers", layers)
        model.register(buffer: "freqs_cos", .ones([2, 2]), persistent: false)
        register(child: "lm_head", head)
        register(child: "vision_proj", proj)
        register(buffer: "scale", .full([1], value: 2))
        register(child: "drop", dropout)
    }
}

final class NNModuleTests: XCTestCase {
    func testKeyPathsFollowRegistrationOrder() {
        let m = TinyLM(layerCount: 2)
        let names = m.namedParameters().map(\.0)
        XCTAssertEqual(names, [
            "model.embed_tokens.weight",
            "model.layers.0.self_attn.q_proj.weight", "model.layers.0.input_layernorm.weight",
            "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.up_proj.bias",
            "model.layers.1.self_attn.q_proj.weight", "model.layers.1.input_layernorm.weight",
            "model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.bias",
            "vision_proj.weight", "vision_proj.bias",
        ], "tied lm_head.weight is listed once, under its first name")
        // state_dict lists every key, tied ones too, own parameters before own buffers before children.
        let keys = m.stateDict().map(\.0)
        XCTAssertEqual(keys.first, "scale")
        XCTAssertTrue(keys.contains("lm_head.weight"))
        XCTAssertFalse(keys.contains("model.freqs_cos"), "non-persistent buffers are not saved")
        XCTAssertEqual(keys.count, names.count + 2)
        XCTAssertTrue(m.stateDict().first { $0.0 == "lm_head.weight" }?.1 === m.embed.weight)
        XCTAssertEqual(m.namedBuffers().map(\.0), ["scale", "model.freqs_cos"])
        XCTAssertTrue(m.module(at: "model.layers.1.mlp.up_proj") === m.layers[1].up)
        XCTAssertNil(m.module(at: "model.layers.7"))
    }

    func testParameterCounts() {
        let m = TinyLM(vocab: 11, dim: 4, layerCount: 2)
        let perLayer = 4 * 4 + 4 + (8 * 4 + 8)
        XCTAssertEqual(m.parameterCount(), 11 * 4 + 2 * perLayer + (4 * 3 + 4))
        XCTAssertEqual(m.parameterCount(trainableOnly: true), m.parameterCount())
        m.freeze()
        XCTAssertEqual(m.parameterCount(trainableOnly: true), 0)
        XCTAssertTrue(m.parameters(trainableOnly: true).isEmpty)
    }

    func testFreezePatterns() throws {
        let m = TinyLM(layerCount: 12)
        m.layers[1].q.weight.grad = .ones([4, 4])
        // Exact key prefix on component boundaries: layers.1 is not layers.10/11.
        let frozen = try m.freeze(matching: ["model.layers.1"])
        XCTAssertEqual(frozen, ["model.layers.1.self_attn.q_proj.weight", "model.layers.1.input_layernorm.weight",
                                "model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.bias"])
        XCTAssertNil(m.layers[1].q.weight.grad, "freezing drops a stale gradient")
        try m.unfreeze(matching: ["**"])

        // One-component wildcard.
        XCTAssertEqual(try m.freeze(matching: ["model.layers.*.mlp"]).count, 12 * 2)
        XCTAssertFalse(m.layers[5].up.bias?.requiresGrad ?? true)
        XCTAssertTrue(m.layers[5].q.weight.requiresGrad)
        try m.unfreeze(matching: ["**"])

        // Glob inside a component: layers.1* is 1, 10, 11.
        XCTAssertEqual(Set(try m.freeze(matching: ["model.layers.1*.self_attn"])),
                       ["model.layers.1.self_attn.q_proj.weight", "model.layers.10.self_attn.q_proj.weight",
                        "model.layers.11.self_attn.q_proj.weight"])
        try m.unfreeze(matching: ["**"])

        // ** spans any number of components; "*_proj" globs; "vision_proj.*" equals "vision_proj".
        XCTAssertEqual(try m.freeze(matching: ["**.bias"]), m.namedParameters().map(\.0).filter { $0.hasSuffix(".bias") })
        try m.unfreeze(matching: ["**"])
        XCTAssertEqual(try m.freeze(matching: ["vision_proj.*"]), ["vision_proj.weight", "vision_proj.bias"])
        XCTAssertEqual(try m.unfreeze(matching: ["vision_proj"]), ["vision_proj.weight", "vision_proj.bias"])
        XCTAssertEqual(try m.freeze(matching: ["**.*_proj.weight"]).count, 12 * 2 + 1)
        try m.unfreeze(matching: ["**"])

        // Upstream MiniMind2-V pretrain policy: everything frozen except the projector and the last layer.
        m.freeze()
        try m.unfreeze(matching: ["vision_proj", "model.layers.11"])
        XCTAssertEqual(m.parameterCount(trainableOnly: true), m.proj.weight.count + m.proj.bias!.count
                       + m.layers[11].parameterCount())

        // A tied tensor is reachable through its alias key.
        m.unfreeze()
        XCTAssertEqual(try m.freeze(matching: ["lm_head"]), ["model.embed_tokens.weight"])
        XCTAssertFalse(m.embed.weight.requiresGrad)
    }

    func testBadPatternsThrowAndChangeNothing() {
        let m = TinyLM(layerCount: 2)
        XCTAssertThrowsError(try m.freeze(matching: ["vision_proj", "model.layer.*", "visoin_proj"])) { error in
            XCTAssertEqual(error as? ModuleError,
                           .patternsMatchedNothing(["model.layer.*", "visoin_proj"],
                                                   exampleKeys: ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                                                                 "model.layers.0.input_layernorm.weight"]))
            XCTAssertTrue("\(error)".contains("'visoin_proj'"))
        }
        XCTAssertEqual(m.parameterCount(trainableOnly: true), m.parameterCount(), "a failed freeze changes nothing")
        for bad in ["", "a..b", ".a", "a.", "x.**y"] {
            XCTAssertThrowsError(try m.freeze(matching: [bad]), "pattern '\(bad)'") { error in
                guard case ModuleError.invalidPattern = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testKeyPatternMatching() throws {
        let cases: [(String, String, Bool)] = [
            ("a.b", "a.b", true), ("a.b", "a.b.c", true), ("a.b", "a.bc", false), ("a.b", "a", false),
            ("a.*.c", "a.1.c.w", true), ("a.*.c", "a.1.2.c", false), ("a.**.c", "a.1.2.c", true),
            ("a.**.c", "a.c", true), ("**", "x.y", true), ("**.w", "w", true), ("**.w", "a.wx", false),
            ("*", "anything.at.all", true), ("q*j", "q_proj", true), ("q*j", "q_projx", false),
            ("*proj*", "q_proj_a", true), ("l*.1", "layers.1.x", true), ("l*.1", "layers.10", false),
        ]
        for (pattern, key, want) in cases {
            XCTAssertEqual(try KeyPattern(pattern).matches(key), want, "\(pattern) vs \(key)")
        }
    }

    func testTrainEvalPropagates() {
        let m = TinyLM(layerCount: 2)
        XCTAssertTrue(m.namedModules().allSatisfy { $0.1.isTraining })
        m.eval()
        XCTAssertTrue(m.namedModules().allSatisfy { !$0.1.isTraining })
        let x = Tensor.ones([64])
        XCTAssertEqual(m.dropout(x).toArray(), x.toArray(), "dropout is the identity in eval mode")
        m.layers.train()
        XCTAssertTrue(m.layers[1].up.isTraining)
        XCTAssertFalse(m.isTraining)
        m.train()
        XCTAssertTrue(m.namedModules().allSatisfy { $0.1.isTraining })
        XCTAssertTrue(m.dropout(x).toArray().contains(0), "dropout is active in training mode")
        // A child registered into an eval-mode parent takes its mode.
        let parent = Module()
        parent.eval()
        XCTAssertFalse(parent.register(child: "c", RMSNorm(2)).isTraining)
    }

    func testOptimizerSeesOnlyTrainableParameters() throws {
        let m = TinyLM(layerCount: 2)
        m.freeze()
        try m.unfreeze(matching: ["vision_proj"])
        let opt = AdamW(parameters: m.namedParameters(trainableOnly: true), lr: 1e-3)
        XCTAssertEqual(opt.parameterNames, ["vision_proj.weight", "vision_proj.bias"])
    }
}

import Foundation

extension VLMTrainer {
    /// The release file name upstream writes: `{prefix}_{hidden}[_moe]`.
    public var releaseBaseName: String {
        "\(recipe.weightPrefix)_\(model.config.language.hiddenSize)\(model.config.language.moe == nil ? "" : "_moe")"
    }

    /// `{prefix}_{hidden}[_moe]_resume.safetensors` in the output directory (one per stage, so a
    /// pretrain and an SFT run can share a folder).
    public var resumeFileName: String { releaseBaseName + "_resume.safetensors" }
    /// `{prefix}_{hidden}[_moe]_loss.svg`, next to the release weights.
    public var lossCurveFileName: String { releaseBaseName + "_loss.svg" }

    /// Writes, atomically, into the output directory: the release weights as upstream saves them
    /// (`{prefix}_{hidden}[_moe].pth`, every tensor fp16, no vision keys) and the same tensors as
    /// `.safetensors` — for a LoRA recipe the adapters in PEFT's layout instead; the resume file (float32 weights, AdamW state, position, losses); the loss curve.
    /// With several ranks every rank calls it (the sharded optimizer state is gathered); rank 0 writes.
    @discardableResult
    public func save() throws -> [URL] {
        // Sharded over several ranks, the moments are all-gathered first: every rank calls save().
        let optimizerState = try fullOptimizerState()
        guard let dir = outputDirectory else { return [] }
        var weights: [URL]
        if let lora = recipe.lora {
            // The base weights did not change: only the adapters are written, as PEFT saves them.
            weights = try PEFTAdapter.write(model, config: lora, to: dir)
        } else {
            let release = try StateDict(module: model, dtype: .f16)
            weights = [dir.appendingPathComponent(releaseBaseName + ".pth"), dir.appendingPathComponent(releaseBaseName + ".safetensors")]
            try PTHFile.write(release, to: weights[0])
            try Safetensors.write(release, to: weights[1], metadata: ["format": "pt", "producer": "MiniMindV"])
        }

        var state = try StateDict(module: model)
        var resume = StateDict()
        for (k, v) in state.entries { resume["model." + k] = v }
        for (k, t) in optimizerState { resume["optimizer." + k] = try TensorData(tensor: t) }
        state = resume
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let meta = ["position": String(decoding: try encoder.encode(position), as: UTF8.self),
                    "losses": String(decoding: try encoder.encode(losses), as: UTF8.self),
                    "recipe": String(decoding: try encoder.encode(recipe), as: UTF8.self),
                    "early_stopping": String(decoding: try encoder.encode(earlyStopping), as: UTF8.self),
                    "ranks": String(communicator.size),
                    "producer": "MiniMindV"]
        let resumeURL = dir.appendingPathComponent(resumeFileName)
        try Safetensors.write(state, to: resumeURL, metadata: meta)
        let svg = dir.appendingPathComponent(lossCurveFileName)
        try LossCurveSVG.render(losses: losses, title: "\(recipe.stage.rawValue) loss").write(to: svg, atomically: true, encoding: .utf8)
        return weights + [resumeURL, svg]
    }

    /// Continues an interrupted run from a resume file written by `save()`: model weights, AdamW
    /// moments and step counts, epoch, micro-batch position and the loss history. The data order,
    /// augmentations and schedule are functions of (seed, epoch, index), so the continued run takes
    /// exactly the steps the uninterrupted one would have.
    public func resume(from url: URL) throws {
        func fail(_ why: String) -> TrainingError { .resume(path: url.path, reason: why) }
        let file: StateDict
        do { file = try Safetensors.read(url) } catch { throw fail("\(error)") }
        let decoder = JSONDecoder()
        guard let positionText = file.metadata["position"],
              let saved = try? decoder.decode(TrainingPosition.self, from: Data(positionText.utf8)) else {
            throw fail("no training position in the metadata (not a MiniMindV resume file)")
        }
        guard let recipeText = file.metadata["recipe"] else { throw fail("no recipe in the metadata") }
        let old: TrainingRecipe
        do { old = try decoder.decode(TrainingRecipe.self, from: Data(recipeText.utf8)) } catch {
            throw fail("the recipe in the metadata is not a valid recipe JSON: \(error)")
        }
        // The position counts global micro-batches (batch × ranks): another rank count resumes
        // when the global batch is the same (2 ranks × batch 2 ↔ 1 rank × batch 4).
        let oldRanks = file.metadata["ranks"].map { Int($0) ?? 0 } ?? 1
        guard (1...1 << 20).contains(oldRanks) else {
            throw fail(InputRangeError(field: "metadata ranks", value: file.metadata["ranks"] ?? "", allowed: "1...\(1 << 20)").description)
        }
        let oldGlobal = old.batchSize.multipliedReportingOverflow(by: oldRanks).partialValue  // a hostile value just mismatches
        guard oldGlobal == globalBatchSize, old.accumulationSteps == recipe.accumulationSteps,
              old.epochs == recipe.epochs, old.steps == recipe.steps, old.seed == recipe.seed, old.shuffle == recipe.shuffle else {
            throw fail("it was written with global batch \(oldGlobal) (\(oldRanks) ranks × \(old.batchSize)), accumulation \(old.accumulationSteps), epochs \(old.epochs), seed \(old.seed), shuffle \(old.shuffle); this run has \(globalBatchSize) (\(communicator.size) × \(recipe.batchSize)), \(recipe.accumulationSteps), \(recipe.epochs), \(recipe.seed), \(recipe.shuffle)")
        }
        try checkPosition(saved, fail: fail)
        var weights: [String: Tensor] = [:], moments: [String: Tensor] = [:]
        for (name, data) in file.entries {
            if name.hasPrefix("model.") { weights[String(name.dropFirst(6))] = try data.toTensor() }
            else if name.hasPrefix("optimizer.") { moments[String(name.dropFirst(10))] = try data.toTensor() }
        }
        if saved.optimizerSteps > 0 && moments.isEmpty {
            throw fail("no optimizer state (optimizer.* entries) after \(saved.optimizerSteps) optimizer steps")
        }
        for (key, t) in moments where key.hasSuffix(".step") && t.count == 1 {
            let step = t.pointer[0]
            guard step.isFinite, step >= 1, Double(step) <= Double(saved.optimizerSteps) else {
                throw fail(InputRangeError(field: "optimizer.\(key)", value: "\(step)", allowed: "1...\(saved.optimizerSteps) (the optimizer steps taken)").description)
            }
        }
        do { _ = try model.loadStateDict(weights, strict: true) } catch { throw fail("weights: \(error)") }
        do { try optimizer.loadState(moments) } catch { throw fail("optimizer: \(error)") }
        position = saved
        if let text = file.metadata["losses"], let l = try? decoder.decode([Double].self, from: Data(text.utf8)) { losses = l }
        if let text = file.metadata["early_stopping"], let e = try? decoder.decode(EarlyStoppingState.self, from: Data(text.utf8)) {
            guard e.checksWithoutImprovement >= 0, e.checksWithoutImprovement <= saved.optimizerSteps else {
                throw fail(InputRangeError(field: "metadata early_stopping.checksWithoutImprovement", value: "\(e.checksWithoutImprovement)",
                                           allowed: "0...\(saved.optimizerSteps)").description)
            }
            earlyStopping = e
        }
    }

    /// The saved position must be one this run can reach: epoch and micro-batch inside the run,
    /// optimizer steps equal to the steps that lead there.
    func checkPosition(_ p: TrainingPosition, fail: (String) -> TrainingError) throws {
        do {
            try InputRange.check("position.epoch", p.epoch, in: 0...epochs)
            try InputRange.check("position.microBatch", p.microBatch, in: 0...max(microBatchesPerEpoch - 1, 0))
            try InputRange.check("position.optimizerSteps", p.optimizerSteps, in: 0...totalSteps)
            // A `steps` run ends inside its last epoch and saves the next epoch's start: its total.
            let expected = min(p.epoch * stepsPerEpoch + (p.microBatch + recipe.accumulationSteps - 1) / recipe.accumulationSteps,
                               totalSteps)
            try InputRange.check("position.optimizerSteps", p.optimizerSteps, in: expected...expected,
                                 note: "epoch \(p.epoch), micro-batch \(p.microBatch) follow \(expected) steps")
        } catch let error as InputRangeError {
            throw fail(error.description)
        }
    }
}

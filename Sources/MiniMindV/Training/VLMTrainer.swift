import Foundation

/// The default trainer for MiniMind-V (Docs/Model.md, "Recipes"), step for step like upstream's loop:
/// for each micro-batch t = 1 … T (T = epochs · micro-batches per epoch, numbered from 1 as upstream
/// does) the learning rate is set from the schedule at t; loss = objective / accumulationSteps (the
/// default objective: cross-entropy + MoE aux); backward; after every
/// `accumulationSteps` micro-batches (and at the end of an epoch) the gradients are clipped to the
/// recipe's global norm and AdamW steps over the trainable tensors only. Vision features come
/// from the frozen encoder through `VisionFeatureExtractor` (computed once per image).
/// Callbacks receive the run's `TrainingEvent`s; `run(stages:…)` runs several stages in a row.
///
///     var recipe = TrainingRecipe.sft(for: bundle.model.config)
///     recipe.epochs = 1
///     let trainer = try VLMTrainer.forConversations(model: bundle.model, tokenizer: bundle.tokenizer,
///         template: bundle.template, recipe: recipe, data: dataset, featureCache: nil,
///         outputDirectory: URL(fileURLWithPath: "out"))
///     trainer.callbacks = [ProgressLineCallback(interval: 10)]
///     let summary = try trainer.run()                  // losses per optimizer step
public final class VLMTrainer: Trainer {
    public let model: MiniMindVLM
    public let recipe: TrainingRecipe
    public let samples: TrainingSampleSource
    public let features: VisionFeatureExtractor?
    public let objective: TrainingObjective
    public var callbacks: [TrainingCallback] = []
    /// The ranks of a data-parallel run (VLMTrainer+DataParallel.swift); one process by default.
    public var communicator: any Communicator = SingleProcessCommunicator()
    /// How the ranks' gradients are averaged: overlapped with the backward pass, bucket size.
    public var gradientAveraging = GradientAveraging()
    var gradientAverager: OverlappedGradientAverager?
    /// This rank's share of the optimizer step (VLMTrainer+OptimizerSharding.swift); nil: all of it.
    var optimizerShard: OptimizerShard?
    /// The run's name in events (default: the recipe's stage).
    public var stageName: String
    /// Where this run sits in a staged run (events report it).
    public var stageIndex = 0, stageCount = 1
    /// Held-out samples measured during the run (nil: none).
    public var validation: TrainingValidation?
    public private(set) var validationLosses: [ValidationPoint] = []
    /// The best validation point and the checks since it (`recipe.earlyStopping`, VLMTrainer+Remedies.swift).
    public internal(set) var earlyStopping = EarlyStoppingState()
    /// Where release weights, the resume file, metrics and the loss curve go (nil: nothing saved).
    public let outputDirectory: URL?
    public private(set) var optimizer: AdamW
    public internal(set) var position = TrainingPosition()
    public internal(set) var losses: [Double] = []
    /// Called with a message for every sample skipped during training (default: stderr).
    public var warn: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    private var stopRequested = false
    /// Over the run's global micro-batches (they depend on the communicator's size).
    private var schedule: LRSchedule { recipe.schedule(totalMicroSteps: totalMicroBatches) }

    public init(model: MiniMindVLM, recipe: TrainingRecipe, samples: TrainingSampleSource,
                features: VisionFeatureExtractor? = nil, objective: TrainingObjective? = nil,
                outputDirectory: URL? = nil) throws {
        try recipe.validate()
        guard samples.count > 0 else { throw TrainingError.noSamples("the dataset has no usable rows") }
        if recipe.padToMaxLength {  // every batch runs max_seq_len (minimind-3v) or max_seq_len − 1 positions
            try InputRange.check("TrainingRecipe.maxSeqLen", recipe.maxSeqLen, in: 2...model.config.language.maxPositionEmbeddings,
                                 note: "padToMaxLength runs every batch at it and the model has \(model.config.language.maxPositionEmbeddings) positions")
        }
        _ = try recipe.totalMicroSteps(samples: samples.count)  // refuses a run too long to count
        self.model = model
        self.recipe = recipe
        self.samples = samples
        self.features = features
        let objective = try objective ?? recipe.defaultObjective(samples: samples)  // nil: the recipe's (language loss, + grounding when weighted)
        self.objective = objective
        self.outputDirectory = outputDirectory
        stageName = recipe.stage.rawValue
        let parameters: [(String, Tensor)]
        if let own = try objective.trainableParameters(model: model) {
            guard !own.isEmpty else { throw TrainingError.nothingToTrain("the objective names no trainable tensor") }
            parameters = own
        } else if let lora = recipe.lora {
            parameters = try model.prepareLoRATraining(lora, seed: recipe.seed)
        } else {
            let trainable = try recipe.applyFreezePolicy(to: model)
            guard !trainable.isEmpty else {
                throw TrainingError.nothingToTrain("the freeze policy (trainable: \(recipe.trainable.joined(separator: " ")); frozen: \(recipe.frozen.joined(separator: " "))) leaves no trainable tensor")
            }
            parameters = model.namedParameters(trainableOnly: true)
        }
        optimizer = AdamW(parameters: parameters, lr: recipe.learningRate,
                          betas: (recipe.beta1, recipe.beta2), eps: recipe.eps, weightDecay: recipe.weightDecay)
        if let ratio = recipe.projectorLRRatio {
            optimizer.lrScales = optimizer.parameterNames.map { $0.hasPrefix("vision_proj.") ? ratio : 1 }
        }
        if let outputDirectory {
            try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        }
    }

    // MARK: sizes

    public var microBatchesPerEpoch: Int { (samples.count + globalBatchSize - 1) / globalBatchSize }
    public var stepsPerEpoch: Int { (microBatchesPerEpoch + recipe.accumulationSteps - 1) / recipe.accumulationSteps }
    /// Epochs the run makes: the recipe's, or as many as `recipe.steps` needs.
    public var epochs: Int { recipe.steps.map { ($0 + stepsPerEpoch - 1) / stepsPerEpoch } ?? recipe.epochs }
    public var totalSteps: Int { recipe.steps ?? recipe.epochs * stepsPerEpoch }
    public var totalMicroBatches: Int { recipe.steps.map { $0 * recipe.accumulationSteps } ?? recipe.epochs * microBatchesPerEpoch }

    /// Asks the run to stop after the current optimizer step (it saves the resume file first).
    public func requestStop() { stopRequested = true }

    /// Sample order of an epoch: seeded Fisher–Yates, the same for the same seed and epoch, then
    /// sorted by length within windows of `recipe.lengthBuckets` batches when bucketing is on.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<samples.count)
        if recipe.shuffle {
            var g = SeededGenerator(seed: recipe.seed &+ 0x5851_F42D_4C95_7F2D &* UInt64(epoch + 1))
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(g.next() % UInt64(i + 1)))
            }
        }
        guard let buckets = recipe.lengthBuckets, buckets > 1, let lengths = samples.lengths else { return order }
        let window = buckets * globalBatchSize
        return stride(from: 0, to: order.count, by: window).flatMap { start in
            // Stable: equal lengths keep their shuffled order.
            order[start..<min(start + window, order.count)].enumerated()
                .sorted { (lengths[$0.element], $1.offset) > (lengths[$1.element], $0.offset) }
                .map(\.element)
        }
    }

    // MARK: forward

    /// Loss of one micro-batch with autograd, under the run's objective.
    public func loss(_ batch: TrainingBatch) throws -> Tensor {
        try objective.loss(batch, model: model, features: features)
    }

    /// Mean loss of `samples` without gradients, in batches of the recipe's size, in eval mode
    /// (no dropout, no MoE aux) and without the training-only smoothing and token weights.
    public func evaluate(_ samples: [TrainingSample]) throws -> Double {
        guard !samples.isEmpty else { return 0 }
        var total = 0.0, batches = 0
        // The plain loss: comparable between runs with and without remedies.
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        try noGrad {
            for start in stride(from: 0, to: samples.count, by: recipe.batchSize) {
                var batch = TrainingBatch(Array(samples[start..<min(start + recipe.batchSize, samples.count)]))
                batch.targetWeights = nil
                total += Double(try loss(batch).item)
                batches += 1
            }
        }
        return total / Double(batches)
    }

    // MARK: the loop

    public var stageInfo: TrainingStageInfo {
        TrainingStageInfo(name: stageName, index: stageIndex, count: stageCount, totalSteps: totalSteps)
    }

    /// Hands `event` to every callback; true when one of them asks to stop.
    @discardableResult
    func emit(_ event: TrainingEvent) -> Bool {
        var stop = false
        for c in callbacks where c.training(event, trainer: self) == .stop { stop = true }
        return stop
    }

    public func run() throws -> TrainingSummary {
        try enterRemedies()
        defer { leaveRemedies() }
        model.train()
        let leavePrecision = enterPrecision()  // recipe.precision for the run (VLMTrainer+Precision.swift)
        defer { leavePrecision() }
        objective.willTrain()
        defer { objective.didTrain() }
        let start = monotonicSeconds()
        var saved: [URL] = []
        var stoppedEarly = false
        var stop = emit(.stageStarted(stageInfo))
        let fixed = recipe.padToMaxLength ? recipe.maxSeqLen : nil
        let epochs = self.epochs
        outer: while position.epoch < epochs {
            let order = order(epoch: position.epoch)
            let micro = microBatchesPerEpoch
            var stepLoss = 0.0, stepTokens = 0, inGroup = 0, forward = 0.0, backward = 0.0
            var stepStart = monotonicSeconds()
            optimizer.zeroGrad()
            while position.microBatch < micro {
                let i = position.microBatch
                // Upstream numbers micro-batches from 1 (`enumerate(loader, start=1)`), so its first
                // step already uses t = 1 and the last one t = T (base/10).
                let t = position.epoch * micro + i + 1
                optimizer.lr = schedule.lr(at: t)
                let indices = rankShare(of: order, microBatch: i)
                var batchSamples: [TrainingSample] = []
                for index in indices {
                    do { batchSamples.append(try samples.sample(index, epoch: position.epoch)) } catch let TrainingDataError.malformedRow(row, reason) {
                        if recipe.strict { throw TrainingDataError.strictStop(row: row, reason: reason) }
                        warn("warning: skipping \(row): \(reason)")
                    }
                }
                let weight = try startLossWeight(batchSamples)  // summed over the ranks during the forward pass
                if !batchSamples.isEmpty {
                    var batch = TrainingBatch(batchSamples, padTo: fixed, inputsAtFullLength: model.config.projector == .mlp)
                    prepareRemedies(&batch, microBatch: t)
                    let positions = model.config.language.maxPositionEmbeddings
                    guard batch.length <= positions else {
                        throw InputRangeError(field: "sample length (--max-seq-len \(recipe.maxSeqLen))", value: "\(batch.length + 1)",
                                              allowed: "≤ \(positions + 1)", note: "the model has \(positions) positions; lower --max-seq-len")
                    }
                    let t0 = monotonicSeconds()
                    let raw = try loss(batch)
                    let l = try (weight.value().map { raw * $0 } ?? raw) / Float(recipe.accumulationSteps)
                    let t1 = monotonicSeconds()
                    try backPropagate(l, endsStep: inGroup + 1 == recipe.accumulationSteps || position.microBatch + 1 == micro)
                    forward += t1 - t0
                    backward += monotonicSeconds() - t1
                    stepLoss += Double(l.item)
                    stepTokens += batch.realTokens
                }
                _ = try weight.value()  // also when this rank had no samples
                inGroup += 1
                position.microBatch += 1
                let endOfEpoch = position.microBatch == micro
                guard inGroup == recipe.accumulationSteps || endOfEpoch else { continue }
                // A `steps` run ends inside its last epoch, at its last group.
                let lastStep = recipe.steps.map { position.optimizerSteps + 1 == $0 } ?? false

                // optimizer step
                try synchronizeStep(loss: &stepLoss, tokens: &stepTokens)
                let clip = try clipGradients()  // sharded over the ranks (VLMTrainer+OptimizerSharding.swift)
                let norm = Double(clip.norm)
                position.optimizerSteps += 1
                guard stepLoss.isFinite, norm.isFinite else {
                    throw TrainingError.nonFiniteLoss(step: position.optimizerSteps, loss: stepLoss.isFinite ? norm : stepLoss)
                }
                try stepOptimizer(gradientScale: clip.scale)  // also refreshes the bf16 weight copies
                optimizer.zeroGrad()
                let reportLoss = stepLoss * Double(recipe.accumulationSteps) / Double(inGroup)
                losses.append(reportLoss)
                let now = monotonicSeconds()
                let report = StepReport(epoch: position.epoch, step: position.optimizerSteps, totalSteps: totalSteps,
                                        loss: reportLoss, lr: optimizer.lr, gradNorm: norm, tokens: stepTokens,
                                        seconds: now - stepStart, elapsed: now - start,
                                        forwardSeconds: forward, backwardSeconds: backward)
                stepLoss = 0; stepTokens = 0; inGroup = 0; forward = 0; backward = 0; stepStart = now
                if endOfEpoch || lastStep { position.epoch += 1; position.microBatch = 0 }
                stop = emit(.step(report)) || stop || stopRequested
                if let maxSteps = recipe.maxSteps, position.optimizerSteps >= maxSteps { stop = true }
                let finished = position.epoch >= epochs
                if let validation, position.optimizerSteps % validation.interval == 0 || finished || stop {
                    let point = ValidationPoint(step: position.optimizerSteps, loss: try evaluate(validation.samples))
                    validationLosses.append(point)
                    stop = emit(.validation(point)) || stop
                    let (stopHere, bestFiles) = try observeEarlyStopping(point)
                    saved += bestFiles
                    if !bestFiles.isEmpty { stop = emit(.saved(bestFiles)) || stop }
                    stop = stopHere || stop
                }
                if position.optimizerSteps % recipe.saveInterval == 0 || stop || finished {
                    try checkTrainedWeights()
                    let files = try save()
                    saved += files
                    if !files.isEmpty { stop = emit(.saved(files)) || stop }
                }
                if endOfEpoch || lastStep { stop = emit(.epochFinished(epoch: position.epoch - 1)) || stop }
                if stop && !finished { stoppedEarly = true; break outer }
                if endOfEpoch || lastStep { break }
            }
        }
        model.eval()
        var summary = TrainingSummary(losses: losses, steps: position.optimizerSteps, totalSteps: totalSteps,
                                      stoppedEarly: stoppedEarly, savedFiles: saved)
        summary.validation = validationLosses
        if let step = earlyStopping.bestStep, let loss = earlyStopping.bestLoss { summary.bestValidation = ValidationPoint(step: step, loss: loss) }
        summary.seconds = monotonicSeconds() - start
        emit(.stageFinished(stageInfo, summary))
        return summary
    }

    /// A huge learning rate can leave the loss finite while the update throws the weights past
    /// float16's range (the release files are float16): checked before every save, so nothing
    /// unusable is written. (A non-finite loss or gradient norm already stops the step itself.)
    func checkTrainedWeights() throws {
        let limit: Float = 65504  // the largest finite float16
        for (name, p) in zip(optimizer.parameterNames, optimizer.parameters) {
            let values = UnsafeBufferPointer(start: p.pointer, count: p.count)
            if let bad = values.first(where: { !$0.isFinite || abs($0) > limit }) {
                throw TrainingError.nonFiniteWeights(step: position.optimizerSteps, tensor: name, value: bad)
            }
        }
    }
}

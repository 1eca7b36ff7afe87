// DIR/metrics.json of a from-scratch run: the sizes and steps as run (the `--steps` value repeats
// them), each stage's steps, time and losses, and the evaluations in `minimind-v eval`'s layout.
import Foundation

public enum ScratchMetrics {
    public static func json(_ r: ScratchResult) -> OrderedJSON {
        let s = r.settings
        var pairs: [(key: String, value: OrderedJSON)] = [
            ("sizes", .object([("vocab_size", .int(r.vocabSize)), ("image_size", .int(r.imageSize)), ("patch_size", .int(r.patchSize)),
                               ("max_positions", .int(r.positions)), ("lm_hidden", .int(s.lmHidden)), ("lm_layers", .int(s.lmLayers)),
                               ("lm_heads", .int(s.lmHeads)), ("vision_hidden", .int(s.visionHidden)), ("vision_layers", .int(s.visionLayers))])),
            ("seed", .string(String(s.seed))),
            ("threads", .int(s.threads)),
            ("steps", .array(s.steps.map { .int($0) })),
            ("steps_flag", .string(r.stepsFlag)),
        ]
        if let budget = s.timeBudgetMinutes {
            pairs.append(("time_budget_minutes", .double(budget)))
            pairs.append(("time_budget_choices", .array(r.budget.map { .string($0) })))
        }
        pairs.append(("stages", .array(r.stages.map { stage in
            let m = stage.summary
            var p: [(key: String, value: OrderedJSON)] = [("name", .string(stage.name)), ("steps", .int(m.steps)),
                                                          ("seconds", .double(m.seconds)),
                                                          ("final_loss", m.losses.last.map { .double($0) } ?? .null)]
            if let v = m.validation.last { p.append(("validation_loss", .double(v.loss))) }
            return .object(p)
        })))
        pairs.append(("timings", .object(r.timings.map { ($0.stage, .double($0.seconds)) })))
        if let v = r.vision { pairs.append(("vision", .object([("label", .string(v.label)), ("value", .double(v.value))]))) }
        func eval(_ e: EvalResult?, tokens: Int) -> OrderedJSON {
            e.map { EvalOutput.metrics($0, source: [], maxNewTokens: tokens) } ?? .null
        }
        let answerTokens = r.answerTokens
        pairs.append(("evaluation", eval(r.evaluation, tokens: answerTokens)))
        pairs.append(("pretrain_only", eval(r.pretrainOnly, tokens: answerTokens)))
        pairs.append(("captions", eval(r.captions, tokens: s.captionTokens)))
        pairs.append(("majority_answer_share", .object(r.types.map { ($0, .double(r.majorityShare($0))) })))
        pairs.append(("skipped_rows", .object(r.skipped.map { ($0.file, .int($0.count)) })))
        return .object(pairs)
    }

    public static func write(_ r: ScratchResult) throws {
        do { try Data((json(r).pythonJSON + "\n").utf8).write(to: r.metrics, options: .atomic) } catch {
            throw ScratchError.io(path: r.metrics.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

import XCTest

/// The option groups the commands share: each flag is defined once and every command that takes it
/// shows it with the same help text.
final class CLIOptionGroupsTests: XCTestCase {
    func help(_ args: [String]) throws -> String {
        let r = try CLISupport.run(args + ["--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")  // ArgumentParser wraps lines
    }

    func testBenchModelAndTrainShareTheirRunOptions() throws {
        let model = try help(["bench", "model"]), train = try help(["bench", "train"])
        for text in ["--preset <preset> Model preset: minimind2-small-v, minimind2-v,", "--repetitions <repetitions> Timed repetitions per test.",
                     "--warmup <warmup> Untimed warm-up runs per test (default: 1; `bench train step`: 2,", "--seed <seed> Seed of the random weights.",
                     "--json Print JSON instead of a markdown table.", "--compute <compute> Precision of the large matrix products"] {
            XCTAssertTrue(model.contains(text), "bench model: \(text)\n\(model)")
            XCTAssertTrue(train.contains(text), "bench train: \(text)\n\(train)")
        }
    }

    func testPretrainAndSFTShareTheTrainingOptions() throws {
        let pretrain = try help(["pretrain"]), sft = try help(["sft"])
        for text in ["--from-weights <from-weights> Start weights", "--dropout <dropout> Dropout while training, on embeddings, attention probabilities,",
                     "--max-seq-len <max-seq-len> Truncate samples to this many tokens", "--precision <precision> Precision of the large matrix products"] {
            XCTAssertTrue(pretrain.contains(text), "pretrain: \(text)\n\(pretrain)")
            XCTAssertTrue(sft.contains(text), "sft: \(text)\n\(sft)")
        }
    }
}

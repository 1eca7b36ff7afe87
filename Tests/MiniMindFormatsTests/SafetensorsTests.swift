import Foundation
import XCTest
@testable import MiniMindFormats

/// safetensors files written by the safetensors Python library, and round trips of our writer.
final class SafetensorsTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mm-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func testReadsEveryDTypeAndMetadataFromTheReferenceWriter() throws {
        try CheckpointFixtures.require()
        let sd = try Safetensors.read(CheckpointFixtures.url("st_dtypes.safetensors"))
        guard let expected = CheckpointFixtures.manifest["safetensors"]?["st_dtypes.safetensors"],
              let tensors = expected["tensors"]?.objectValue else { return XCTFail("manifest entry missing") }
        XCTAssertEqual(Set(sd.keys), Set(tensors.keys))
        for (name, entry) in tensors { CheckpointFixtures.assertTensor(sd[name], equals: entry, name) }
        XCTAssertEqual(sd.metadata, ["format": "pt", "note": "fixture"])
    }

    func testWriterRoundTripsBytesMetadataAndAlignsTheHeader() throws {
        try CheckpointFixtures.require()
        let original = try Safetensors.read(CheckpointFixtures.url("st_dtypes.safetensors"))
        let out = tmp.appendingPathComponent("copy.safetensors")
        try Safetensors.write(original, to: out, metadata: ["extra": "x \"quoted\" é"])
        let back = try Safetensors.read(out)
        XCTAssertEqual(Set(back.keys), Set(original.keys))
        for name in original.keys { XCTAssertEqual(back[name], original[name], name) }
        XCTAssertEqual(back.metadata["extra"], "x \"quoted\" é")
        XCTAssertEqual(back.metadata["format"], "pt")
        let bytes = try Data(contentsOf: out)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0, "header must be padded to 8 bytes like the reference")
        // Each tensor starts at a multiple of its element size (larger dtypes are laid out first).
        for (_, t) in back.entries { XCTAssertEqual((t.byteOffset - 8 - headerLength) % t.dtype.byteSize, 0) }
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), ["copy.safetensors"])
    }

    func testWritingFromFloatTensorsInHalfPrecision() throws {
        let t = Tensor(shape: [2, 2], data: [1, -2.5, 65504, 1e-7])
        let sd = StateDict([("w", try TensorData(tensor: t, dtype: .f16)), ("b", try TensorData(tensor: t, dtype: .bf16))])
        let out = tmp.appendingPathComponent("h.safetensors")
        try Safetensors.write(sd, to: out)
        let back = try Safetensors.read(out)
        XCTAssertEqual(back["w"], sd["w"])
        XCTAssertEqual(back["b"], sd["b"])
        XCTAssertEqual(try back["w"]?.toTensor().toArray().prefix(3), [1, -2.5, 65504])
    }

    func testRejectsGapsOverlapsAndOutOfRangeOffsets() throws {
        func file(_ header: String, dataBytes: Int) -> Data {
            var h = Data(header.utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            var d = Data(le(UInt64(h.count)))
            d.append(h)
            d.append(Data(count: dataBytes))
            return d
        }
        let cases: [(String, Int, String)] = [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 4, "past the end"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 12, "trailing"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12, "gap"),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 4, "overlap"),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8, "size"),
            (#"{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, 1, "dtype"),
            (#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, 4, "dimension"),
            (#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, 4, "overflow"),
            (#"{"__metadata__":{"k":1}}"#, 0, "metadata"),
            (#"[1,2]"#, 0, "not an object"),
        ]
        for (header, n, label) in cases {
            XCTAssertThrowsError(try Safetensors.read(data: file(header, dataBytes: n)), label) { e in
                XCTAssertTrue(e is CheckpointError, "\(label): \(e)")
            }
        }
        var huge = Data(le(UInt64.max)); huge.append(Data(count: 16))
        XCTAssertThrowsError(try Safetensors.read(data: huge))
        XCTAssertNoThrow(try Safetensors.read(data: file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8)))
    }
}

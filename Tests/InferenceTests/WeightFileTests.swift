import Foundation
import Testing
@testable import Inference

struct WeightFileTests {
    static func file(header: String, payload: [UInt8] = []) -> Data {
        var bytes = Array(header.utf8)
        let length = UInt64(bytes.count)
        bytes = (0..<8).map { UInt8((length >> (8 * UInt64($0))) & 0xFF) } + bytes + payload
        return Data(bytes)
    }

    @Test func readsTensorsAndMetadata() throws {
        let payload: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]  // 1.0, 2.0
        let data = Self.file(header: #"{"__metadata__":{"name":"x"},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                             payload: payload)
        let weights = try WeightFile(data: data)
        #expect(weights.metadata["name"] == "x")
        #expect(try weights.tensor("t", shape: [2]).values == [1, 2])
        #expect(throws: WeightFile.Error.self) { try weights.tensor("t", shape: [3]) }
        #expect(throws: WeightFile.Error.self) { try weights.tensor("missing") }
    }

    @Test(arguments: [
        "not json",
        "[1,2]",
        #"{"t":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
        #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
        #"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
        #"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,
        #"{"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#,
        #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
        #"{"__metadata__":{"a":1}}"#,
    ])
    func malformedFilesAreRejected(header: String) {
        #expect(throws: WeightFile.Error.self) { try WeightFile(data: Self.file(header: header, payload: [UInt8](repeating: 0, count: 8))) }
    }

    @Test func truncatedAndHugeHeadersAreRejected() {
        #expect(throws: WeightFile.Error.self) { try WeightFile(data: Data([1, 2, 3])) }
        let claimsHuge = Data([0, 0, 0, 0, 0, 0, 0, 0x7F]) + Data("{}".utf8)
        #expect(throws: WeightFile.Error.self) { try WeightFile(data: claimsHuge) }
        #expect(throws: WeightFile.Error.self) { try WeightFile(path: "/nonexistent/model.safetensors") }
    }

    @Test func modelRejectsAFileWithoutArchitecture() throws {
        let data = Self.file(header: #"{"__metadata__":{"architecture":"resnet"}}"#)
        #expect(throws: WeightFile.Error.self) { try EfficientNetLite(weights: try WeightFile(data: data)) }
    }
}

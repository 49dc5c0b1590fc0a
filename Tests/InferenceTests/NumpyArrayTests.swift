import Testing
@testable import Inference

struct NumpyArrayTests {
    @Test func roundTrip() throws {
        let array = NumpyArray(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let bytes = array.encoded()
        #expect((bytes.count - 6 * 4) % 64 == 0)  // header padded to 64 bytes as numpy does
        #expect(try NumpyArray(bytes: bytes) == array)
    }

    @Test func fortranOrderIsReordered() throws {
        // numpy.asfortranarray([[1, 2, 3], [4, 5, 6]]) stores 1 4 2 5 3 6.
        var bytes = NumpyArray(shape: [2, 3], values: [1, 4, 2, 5, 3, 6]).encoded()
        let header = String(decoding: bytes[10..<(bytes.count - 24)], as: UTF8.self)
            .replacingOccurrences(of: "'fortran_order': False", with: "'fortran_order': True ")
        bytes.replaceSubrange(10..<(bytes.count - 24), with: Array(header.utf8))
        #expect(try NumpyArray(bytes: bytes).values == [1, 2, 3, 4, 5, 6])
    }

    @Test func badFilesAreRejected() {
        let good = NumpyArray(shape: [4], values: [1, 2, 3, 4]).encoded()
        let cases: [[UInt8]] = [
            [],
            Array("NUMPY".utf8),
            Array(good.dropLast(4)),
            good + [0, 0, 0, 0],
            Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "<f4", with: "<f8").utf8),
            [0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF],
        ]
        for bytes in cases {
            #expect(throws: NumpyArray.Error.self) { try NumpyArray(bytes: bytes) }
        }
    }
}

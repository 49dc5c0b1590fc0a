import ArgumentParser
import Foundation
import Inference
#if canImport(Glibc)
import Glibc
#endif

/// The rows of a 2-D float32 .npy file, memory-mapped rather than read: benchmark sets of millions of 1280-d
/// vectors (5 GB a million) are streamed into an index without a copy of the whole set in memory.
final class MappedNumpyRows {
    let count: Int
    let dimension: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int
    private let dataStart: Int

    init(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ValidationError("cannot open \(path)") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ValidationError("cannot stat \(path)") }
        let fileSize = Int(status.st_size)
        var prefix = [UInt8](repeating: 0, count: min(fileSize, (1 << 20) + 12))
        guard pread(descriptor, &prefix, prefix.count, 0) == prefix.count else { throw ValidationError("cannot read \(path)") }
        let header = try NumpyArray.header(of: prefix, fileSize: fileSize)
        guard header.shape.count == 2, !header.fortranOrder, header.shape[0] > 0, header.shape[1] > 0 else {
            throw ValidationError("\(path): expected a non-empty 2-D array in C order, got \(header.shape)")
        }
        guard let mapping = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw ValidationError("cannot map \(path)")
        }
        // Rows are read once, in order.
        _ = madvise(mapping, fileSize, MADV_SEQUENTIAL)
        (count, dimension) = (header.shape[0], header.shape[1])
        (self.mapping, mappedBytes, dataStart) = (mapping, fileSize, header.dataStart)
    }

    deinit { munmap(mapping, mappedBytes) }

    /// Row `index`, L2-normalised (as the loader of whole files does).
    func row(_ index: Int) -> [Float] {
        precondition((0..<count).contains(index), "row \(index) of \(count)")
        let values = UnsafeRawPointer(mapping + dataStart + index * dimension * 4).assumingMemoryBound(to: Float.self)
        return FeatureVector.normalized(UnsafeBufferPointer(start: values, count: dimension))
    }
}

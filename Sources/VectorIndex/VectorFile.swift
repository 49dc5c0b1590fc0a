#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Full-precision rows by slot in a file mapped into memory, for an index that keeps only compressed rows of
/// its own: the kernel's page cache holds what fits, and the rest is read from disk when a row is re-ranked.
///
/// The file grows a chunk at a time and each chunk is mapped on its own, so a row's address never changes and
/// readers may use rows below a count they observed under the index lock while the writer appends. Without a
/// path the chunks are anonymous memory (tests, and indexes that are never saved). The file is scratch space,
/// rebuilt from the store when the index is loaded: it is unlinked as soon as it is opened, and its blocks are
/// freed when the index is.
final class VectorFile {
    let dimension: Int
    let rowsPerChunk: Int
    let path: String?
    private let descriptor: Int32
    private(set) var chunks: [UnsafeMutablePointer<Float>] = []
    private(set) var count = 0

    /// Opens (truncating) `path`, or anonymous memory when nil.
    init(path: String?, dimension: Int, rowsPerChunk: Int = 4096) throws(VectorFileError) {
        precondition(dimension > 0 && rowsPerChunk > 0, "a vector file needs rows")
        self.dimension = dimension
        self.rowsPerChunk = rowsPerChunk
        self.path = path
        if let path {
            descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw VectorFileError(path: path, operation: "open", code: errno) }
            // Scratch space rebuilt at every start: unlinked at once, so a crash, a deleted collection or a
            // collection created anew under the same name never leaves one behind.
            unlink(path)
        } else {
            descriptor = -1
        }
    }

    deinit {
        for chunk in chunks { munmap(chunk, chunkBytes) }
        if descriptor >= 0 { close(descriptor) }
    }

    private var chunkBytes: Int { rowsPerChunk * dimension * MemoryLayout<Float>.stride }

    /// Why the file stopped growing (disk full, say), after which new chunks are anonymous memory: the index
    /// keeps working and only loses the memory saving.
    private(set) var fileFailure: VectorFileError?

    /// Appends a row; returns its slot.
    func append(_ values: UnsafeBufferPointer<Float>) -> Int32 {
        precondition(values.count == dimension, "row has the wrong dimension")
        if count == chunks.count * rowsPerChunk { addChunk() }
        if count < fileChunks * rowsPerChunk && writeToFile(values, slot: count) {
            // Written into the page cache, which the mapping shares.
        } else {
            row(Int32(count)).update(from: values.baseAddress!, count: dimension)
        }
        count += 1
        return Int32(count - 1)
    }

    /// A row written with `pwrite` rather than through the mapping: a store through a fresh mapping costs a
    /// page fault per 4 KiB (zeroing, then marking the page for writing), which made writing a million rows at
    /// start-up several times slower than copying them into the page cache. The blocks were allocated with the
    /// chunk, so the write cannot fail for space; false (the caller stores through the mapping) if it fails anyway.
    private func writeToFile(_ values: UnsafeBufferPointer<Float>, slot: Int) -> Bool {
        let bytes = dimension * MemoryLayout<Float>.stride
        var offset = 0
        let start = off_t(slot) * off_t(bytes)
        while offset < bytes {
            let written = pwrite(descriptor, UnsafeRawPointer(values.baseAddress!) + offset, bytes - offset, start + off_t(offset))
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    private func addChunk() {
        let bytes = chunkBytes
        if descriptor >= 0 && fileFailure == nil {
            let offset = off_t(chunks.count) * off_t(bytes)
            if ftruncate(descriptor, offset + off_t(bytes)) != 0 {
                fileFailure = VectorFileError(path: path ?? "", operation: "grow", code: errno)
            } else if case let code = posix_fallocate(descriptor, offset, off_t(bytes)), code != 0 {
                // Blocks allocated now: a full disk shows here, not as a signal on a later store into the mapping.
                fileFailure = VectorFileError(path: path ?? "", operation: "allocate", code: code)
            } else if let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, offset),
                      address != MAP_FAILED {
                fileChunks += 1
                chunks.append(address.bindMemory(to: Float.self, capacity: rowsPerChunk * dimension))
                return
            } else {
                fileFailure = VectorFileError(path: path ?? "", operation: "map", code: errno)
            }
        }
        guard let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              address != MAP_FAILED else {
            fatalError("out of memory: cannot map \(bytes) bytes for vectors")
        }
        chunks.append(address.bindMemory(to: Float.self, capacity: rowsPerChunk * dimension))
    }
    private var fileChunks = 0

    @inline(__always)
    func row(_ slot: Int32) -> UnsafeMutablePointer<Float> {
        let index = Int(slot)
        return chunks[index / rowsPerChunk] + (index % rowsPerChunk) * dimension
    }

    /// Bytes the rows take (in the file, or in memory without one).
    var byteCount: Int { chunks.count * chunkBytes }
    /// Bytes of rows in anonymous memory rather than the file.
    var memoryBytes: Int { (chunks.count - fileChunks) * chunkBytes }
}

/// A vector file could not be written.
public struct VectorFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let operation: String
    public let code: Int32

    public var description: String { "vector file \(path): \(operation) failed: \(String(cString: strerror(code)))" }
}

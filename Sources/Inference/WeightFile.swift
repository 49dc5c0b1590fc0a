import Foundation

/// A safetensors file of float32 tensors with string metadata: Lookalike's model weight format.
///
/// Layout: an 8-byte little-endian header length, a JSON header `{name: {dtype, shape, data_offsets},
/// "__metadata__": {string: string}}`, then the raw little-endian data. The file is memory-mapped; every offset,
/// shape and size is validated before any tensor is read.
public struct WeightFile: Sendable {
    /// Why a weight file could not be read.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "weight file \(path): \(reason)" }
    }

    /// One tensor's shape and values (row-major).
    public struct Tensor: Sendable {
        public let shape: [Int]
        public let values: [Float]
    }

    /// Largest accepted JSON header, so that a hostile file cannot make us parse gigabytes.
    public static let maxHeaderBytes = 16 << 20

    public let path: String
    public let metadata: [String: String]
    /// Tensors by name.
    public let tensors: [String: Tensor]
    /// FNV-1a 64-bit hash of the whole file, used to tag vectors with the exact weights that made them.
    public let contentHash: UInt64

    /// Reads and validates the file at `path`.
    public init(path: String) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw Error(path: path, reason: "cannot be read (missing? run scripts/fetch-model)")
        }
        try self.init(data: data, path: path)
    }

    /// Parses a weight file held in memory; `path` is used in error messages.
    public init(bytes: [UInt8], path: String = "<memory>") throws {
        try self.init(data: Data(bytes), path: path)
    }

    init(data: Data, path: String = "<memory>") throws {
        func fail(_ reason: String) -> Error { Error(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("too short (\(data.count) bytes) for a safetensors header") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        guard headerLength <= UInt64(Self.maxHeaderBytes), 8 + Int(headerLength) <= data.count else {
            throw fail("header length \(headerLength) is larger than the file or the \(Self.maxHeaderBytes)-byte limit")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart))
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let payloadSize = data.count - dataStart

        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let values = entry as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                metadata = values
                continue
            }
            guard let info = entry as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor '\(name)' has a malformed entry") }
            guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype); only F32 is supported") }
            guard shape.allSatisfy({ $0 >= 0 && $0 <= 1 << 30 }) else { throw fail("tensor '\(name)' has a bad shape") }
            let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let (start, end) = (offsets[0], offsets[1])
            // `(end - start) / 4 == count` rather than `count * 4`, which overflows for shapes near 2^61 elements.
            guard !overflow, start >= 0, end >= start, end <= payloadSize, (end - start) % 4 == 0, (end - start) / 4 == count else {
                throw fail("tensor '\(name)' has offsets \(offsets) that do not match shape \(shape) within the file")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { destination in
                data.withUnsafeBytes { source in
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(dataStart + start)..<(dataStart + end)]))
                }
            }
            // safetensors is little-endian; so are the platforms we run on (x86-64, arm64).
            tensors[name] = Tensor(shape: shape, values: values)
        }
        self.path = path
        self.metadata = metadata
        self.tensors = tensors
        self.contentHash = Self.fnv1a(data)
    }

    /// FNV-1a over 8-byte little-endian words (then the tail bytes): a fast identity hash, not a security check.
    static func fnv1a(_ data: Data) -> UInt64 {
        data.withUnsafeBytes { bytes in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            let words = bytes.count / 8
            for index in 0..<words {
                hash = (hash ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)))
                    &* 0x0000_0100_0000_01B3
            }
            for index in (words * 8)..<bytes.count { hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3 }
            return hash
        }
    }

    /// The tensor called `name`, checked to have `shape`.
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        guard let tensor = tensors[name] else { throw Error(path: path, reason: "missing tensor '\(name)'") }
        if let shape, tensor.shape != shape {
            throw Error(path: path, reason: "tensor '\(name)' has shape \(tensor.shape), expected \(shape)")
        }
        return tensor
    }
}

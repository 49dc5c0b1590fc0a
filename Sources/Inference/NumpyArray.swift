/// A float32 array read from NumPy's `.npy` format (versions 1–3, little-endian `<f4`, C order).
///
/// Lets any other implementation hand us an already-preprocessed input tensor, so that models can be compared
/// without preprocessing differences.
public struct NumpyArray: Sendable, Equatable {
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let reason: String
        public var description: String { "not a usable .npy file: \(reason)" }
    }

    public let shape: [Int]
    public let values: [Float]

    /// Largest accepted header, per the format's own 64 KiB bound for version 1 (we allow version 2's larger
    /// headers up to 1 MiB).
    static let maxHeaderBytes = 1 << 20

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }

    public init(bytes: [UInt8]) throws {
        let header = try Self.header(of: bytes, fileSize: bytes.count)
        let (shape, count, dataStart) = (header.shape, header.count, header.dataStart)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[dataStart...])) }
        }
        self.shape = shape
        self.values = header.fortranOrder ? Self.rowMajor(fromColumnMajor: values, shape: shape) : values
    }

    /// What a file's header says: the shape, the element count, the order, and where the data starts.
    public struct Header: Sendable {
        public let shape: [Int]
        public let count: Int
        public let fortranOrder: Bool
        public let dataStart: Int
    }

    /// Parses the header at the start of `bytes` (at least the header itself) of a file of `fileSize` bytes, and
    /// checks that the file holds exactly the data the shape needs.
    public static func header(of bytes: [UInt8], fileSize: Int) throws -> Header {
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw Error(reason: "missing the \\x93NUMPY magic") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw Error(reason: "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw Error(reason: "unsupported version \(major)")
        }
        guard headerLength <= Self.maxHeaderBytes, headerStart + headerLength <= bytes.count else {
            throw Error(reason: "header length \(headerLength) exceeds the file")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let compact = header.filter { !$0.isWhitespace }
        guard compact.contains("'descr':'<f4'") else { throw Error(reason: "dtype must be little-endian float32 ('<f4')") }
        let fortranOrder = compact.contains("'fortran_order':True")
        guard fortranOrder || compact.contains("'fortran_order':False") else { throw Error(reason: "header has no fortran_order") }
        guard let shapeStart = compact.range(of: "'shape':("),
              let shapeEnd = compact[shapeStart.upperBound...].firstIndex(of: ")") else {
            throw Error(reason: "header has no shape")
        }
        let dimensions = compact[shapeStart.upperBound..<shapeEnd].split(separator: ",")
        var shape: [Int] = []
        for dimension in dimensions {
            guard let value = Int(dimension), value >= 0, value <= 1 << 31 else { throw Error(reason: "bad shape entry '\(dimension)'") }
            shape.append(value)
        }
        let (count, overflow) = shape.reduce((1, false)) { partial, value in
            let product = partial.0.multipliedReportingOverflow(by: value)
            return (product.partialValue, partial.1 || product.overflow)
        }
        let dataStart = headerStart + headerLength
        guard !overflow, count <= (fileSize - dataStart) / 4, fileSize - dataStart == count * 4 else {
            throw Error(reason: "shape \(shape) needs \(count * 4) data bytes, file has \(fileSize - dataStart)")
        }
        return Header(shape: shape, count: count, fortranOrder: fortranOrder, dataStart: dataStart)
    }

    /// Reorders column-major (Fortran) values to row-major (C) order.
    static func rowMajor(fromColumnMajor values: [Float], shape: [Int]) -> [Float] {
        guard shape.count > 1 else { return values }
        var columnStrides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { columnStrides[axis] = columnStrides[axis - 1] * shape[axis - 1] }
        var out = [Float](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)
        for position in 0..<values.count {
            var source = 0
            for axis in 0..<shape.count { source += index[axis] * columnStrides[axis] }
            out[position] = values[source]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }

    /// Encodes as a version 1.0 `.npy` file.
    public func encoded() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = header.utf8.count
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8)
        values.withUnsafeBytes { bytes += $0 }
        return bytes
    }
}

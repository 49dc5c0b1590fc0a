/// Element-wise epilogues applied after a convolution's matrix product.
public enum Activation: Sendable {
    /// `x`, unchanged (projection layers).
    case identity
    /// `min(max(x, 0), 6)`.
    case relu6

    /// Adds `bias[column]` to each of `rows × columns` values (row-major) and applies the activation in place.
    func addBias(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>) {
        let vectorColumns = columns & ~7
        let zero = SIMD8<Float>(repeating: 0)
        let six = SIMD8<Float>(repeating: 6)
        for row in 0..<rows {
            let line = values + row * columns
            var column = 0
            while column < vectorColumns {
                let raw = UnsafeMutableRawPointer(line + column)
                var value = raw.loadUnaligned(as: SIMD8<Float>.self)
                    + UnsafeRawPointer(bias + column).loadUnaligned(as: SIMD8<Float>.self)
                if case .relu6 = self { value = value.clamped(lowerBound: zero, upperBound: six) }
                raw.storeBytes(of: value, as: SIMD8<Float>.self)
                column += 8
            }
            while column < columns {
                let value = line[column] + bias[column]
                line[column] = self == .relu6 ? min(max(value, 0), 6) : value
                column += 1
            }
        }
    }
}

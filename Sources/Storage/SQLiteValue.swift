/// A value bound to or read from a statement.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var integer: Int64? { if case .integer(let value) = self { return value }; return nil }
    public var real: Double? {
        switch self {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }
    public var text: String? { if case .text(let value) = self { return value }; return nil }
    public var blob: [UInt8]? {
        switch self {
        case .blob(let value): return value
        case .null: return nil
        default: return nil
        }
    }
}

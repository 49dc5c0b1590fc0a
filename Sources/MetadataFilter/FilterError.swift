/// Why a filter (or a metadata document) was refused; the description names the byte offset or the key.
public enum FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not JSON: what was expected at which byte offset.
    case syntax(offset: Int, expected: String)
    /// Nested deeper, longer or larger than the limits allow.
    case tooLarge(String)
    /// JSON, but not a filter: the key path and what is wrong with it.
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case .syntax(let offset, let expected): "filter is not valid JSON at byte \(offset): expected \(expected)"
        case .tooLarge(let reason): "filter too large: \(reason)"
        case .invalid(let path, let reason): "filter \(path.isEmpty ? "" : "at \(path) ")\(reason)"
        }
    }
}

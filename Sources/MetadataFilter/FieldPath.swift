/// Dotted metadata keys (`size.width`), split and checked by Unicode scalar rather than by grapheme cluster, so
/// that a dot followed by a combining mark still separates components and the OpenAPI document's pattern
/// (`^[^$.][^.]*(\.[^.]+)*$`) states exactly the rule applied here.
public enum FieldPath {
    /// The components of `path`, empty ones included (`"a..b"` → `["a", "", "b"]`).
    public static func components(_ path: String) -> [String] {
        path.unicodeScalars.split(separator: ".", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    /// Whether `key` names an operator or combinator (`$gt`, `$and`) rather than a field.
    public static func isOperator(_ key: String) -> Bool { key.unicodeScalars.first == "$" }

    /// A field path: not empty, not an operator, no empty component.
    public static func isValid(_ path: String) -> Bool {
        !path.isEmpty && !isOperator(path) && !components(path).contains(where: \.isEmpty)
    }
}

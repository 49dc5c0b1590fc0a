/// Where the model weight file is looked for.
///
/// Order: an explicit path (flag or config), `$LOOKALIKE_MODEL` (a file), `$LOOKALIKE_MODEL_DIR/NAME.safetensors`,
/// then `models/NAME.safetensors` under the current directory, where `scripts/fetch-model` writes it.
public enum ModelLocation {
    public static let defaultName = "efficientnet-lite0"

    public static func resolve(
        explicitPath: String? = nil, name: String = defaultName, environment: [String: String]
    ) -> String {
        if let explicitPath, !explicitPath.isEmpty { return explicitPath }
        if let file = environment["LOOKALIKE_MODEL"], !file.isEmpty { return file }
        if let directory = environment["LOOKALIKE_MODEL_DIR"], !directory.isEmpty {
            return "\(directory)/\(name).safetensors"
        }
        return "models/\(name).safetensors"
    }
}

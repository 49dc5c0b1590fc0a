import Foundation

/// Finds the converted model for tests: `$LOOKALIKE_MODEL_DIR`, else `models/` at the package root.
public enum ModelLocator {
    public static func path(name: String = "efficientnet-lite0", file: String = #filePath) -> String {
        if let directory = ProcessInfo.processInfo.environment["LOOKALIKE_MODEL_DIR"], !directory.isEmpty {
            return "\(directory)/\(name).safetensors"
        }
        // Sources/TestSupport/ModelLocator.swift → package root.
        let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent("models/\(name).safetensors").path
    }
}

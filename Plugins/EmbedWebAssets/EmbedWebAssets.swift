import Foundation
import PackagePlugin

/// Compiles the files in a target's `Assets/` folder into it (`EmbeddedAssets.swift`, in the build folder), so the
/// executable serves them with nothing installed beside it and no generated copy lives in the repository.
@main
struct EmbedWebAssets: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = target.directoryURL.appending(path: "Assets")
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedAssets.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) files of \(target.name)/Assets",
                executable: try context.tool(named: "EmbedWebAssetsTool").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files, outputFiles: [output]),
        ]
    }
}

import ArgumentParser

@main
struct LookalikeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookalike",
        abstract: "Reverse image search: embed images with a CNN and find look-alikes.",
        subcommands: [Serve.self, Ingest.self, Import.self, Search.self, Similar.self, Delete.self, Stats.self, Duplicates.self, Collections.self, Backup.self, Evaluate.self, Reembed.self, Embed.self, EmbedAll.self, Classify.self, ModelCommand.self, BenchModel.self, BenchDecode.self, BenchIndex.self, BenchStorage.self, BenchStartup.self, BenchGroups.self, BenchRetrain.self]
    )
}

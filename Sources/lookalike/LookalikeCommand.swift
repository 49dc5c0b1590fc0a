import ArgumentParser

@main
struct LookalikeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookalike",
        abstract: "Reverse image search: embed images with a CNN and find look-alikes.",
        subcommands: [Serve.self, Embed.self, Classify.self, ModelCommand.self, BenchModel.self, BenchDecode.self, BenchIndex.self]
    )
}

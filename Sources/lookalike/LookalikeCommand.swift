import ArgumentParser

@main
struct LookalikeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lookalike", abstract: "Reverse image search.")
}

import ArgumentParser
import Foundation
import Lookalike

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database consistently while a server goes on using it.",
        discussion: """
            SQLite's online backup from one read transaction: the copy holds every upload acknowledged before the \
            backup started, and uploads and searches continue meanwhile. Restore: stop the server, put the copy in \
            place of storage.databasePath (removing any -wal and -shm files beside the old one), start the server; \
            it rebuilds its indexes from the stored vectors.
            """)
    @OptionGroup var options: ServiceOptions
    @Option(help: "The copy's path (an existing file is replaced only once the copy is complete).") var to: String

    func run() throws {
        let configuration = try options.configuration()
        let started = Date()
        let bytes = try LookalikeService.backup(configuration: configuration, to: to)
        print(String(format: "backed up %@ to %@: %d bytes in %.2f s", configuration.storage.databasePath, to, bytes,
                     Date().timeIntervalSince(started)))
    }
}

import Foundation
import PackagePlugin

/// Compiles README.md's Swift: every build of the `ReadmeSnippets` example regenerates its
/// `ReadmeSnippets.swift` from the README's ```swift blocks, so a README snippet that no longer
/// compiles fails `swift build` and `make test`, and there is no generated copy to go stale.
@main
struct ReadmeSnippetsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let readme = context.package.directoryURL.appending(path: "README.md")
        let output = context.pluginWorkDirectoryURL.appending(path: "ReadmeSnippets.swift")
        return [.buildCommand(displayName: "Extracting the Swift snippets of README.md",
                              executable: try context.tool(named: "ReadmeSnippetsTool").url,
                              arguments: [readme.path, output.path],
                              inputFiles: [readme], outputFiles: [output])]
    }
}

import Engine

/// Entry point. The BLAS kernel must be settled before any command runs, because OpenBLAS
/// reads `OPENBLAS_CORETYPE` when it loads; `prepareProcess` may re-exec this process once.
@main
enum Main {
    static func main() async {
        BLASRuntime.prepareProcess()
        await VAEGuardCommand.main()
    }
}

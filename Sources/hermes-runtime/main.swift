import HermesCLI

await HermesRuntimeMain.run()

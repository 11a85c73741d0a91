import Foundation

/// The profile texts `hermes-runtime init` writes, exactly as this repository ships them in `runtimes/`
/// (a test compares the two, so they never drift: change both together).
public enum ProfileTemplates {
    /// `runtimes/coding-local.yaml` as the repository ships it.
    public static let codingLocal = #"""
# The article's local tier: gemma-4-26B Q4_0 on the Radeon 8060S (gfx1151), all layers on the GPU.
# The article's flags `--slots 4 --mlock` FAIL on current llama-server; here they are `slots: 4`
# (-> -np 4) and `mlock: true` (-> --load-mode mlock, or --mlock on old builds).
kind: llama-server
description: fast private code edits on the local GPU
binary: /opt/llama.cpp-rocm/bin/llama-server
model: ~/.models/gemma-4-26b-q4_0.gguf
host: 127.0.0.1
port: 8080
context: 8192          # total; each of the 4 slots holds 2048 tokens
predict: 4096
threads: 32
slots: 4
mlock: true            # ROCm loads slowly through mmap: lock the model in memory instead
gpu_layers: all
flash_attn: on
env:
  HIP_VISIBLE_DEVICES: "0"
  GGML_HIP_ENABLE: "1"
  ROCM_PATH: /opt/rocm-7.2.4
  ROCBLAS_USE_HIPBLASLT: "1"
health:
  startup_timeout: 10m
burst: coding-burst
output_reserve: 1024
queue_wait: 250ms

"""#

    /// `runtimes/coding-burst.yaml` as the repository ships it.
    public static let codingBurst = #"""
# The article's cloud-burst tier: long context, strong reasoning, large refactors.
kind: openai
description: strong cloud model for long context and large refactors
base_url: https://openrouter.ai/api/v1
api_key_env: OPENROUTER_API_KEY
model: anthropic/claude-sonnet-4
context: 200000
fallback: [coding-burst-together]   # on 429 / 5xx / unreachable
cooldown: 30s
timeout: 120s

"""#

    /// `runtimes/coding-burst-together.yaml` as the repository ships it.
    public static let codingBurstTogether = #"""
# The article's secondary provider (section 9.2): taken when OpenRouter rate-limits or fails.
kind: openai
description: secondary cloud provider for coding-burst
base_url: https://api.together.xyz/v1
api_key_env: TOGETHER_API_KEY
model: deepseek-ai/deepseek-v4-pro
context: 128000
cooldown: 30s

"""#

    /// `runtimes/review-cheap.yaml` as the repository ships it.
    public static let reviewCheap = #"""
# The article's cheap tier: lint, summaries, repetitive small edits. Inherits OpenRouter from coding-burst.
kind: openai
description: tiny cloud model for lint and summaries
extends: coding-burst
model: deepseek/deepseek-v4-flash
context: 64000

"""#

    /// What the two demo profiles share: the test model's server on CPU.
    static let demoCPUServer = """
threads: 2
predict: 256
gpu_layers: 0
# llama-server's prompt cache in RAM is 8 GiB unless set, and the fit check counts it: a tiny model on
# a small machine needs little.
cache_ram: 256
health:
  startup_timeout: 60s
  generation_interval: 30s

"""

    /// `runtimes/demo-local.yaml` as the repository ships it.
    public static let demoLocal = #"""
# Runs on any machine: the small gemma 3 270M test model on CPU (scripts/setup.sh puts it in the cache).
# 2048 tokens over 2 slots = 1024 per slot, so longer prompts visibly burst to demo-burst.
kind: llama-server
description: small CPU model for the demo and the tests
model: ${HERMES_RUNTIME_CACHE:-~/.cache/hermes-runtime}/models/gemma-3-270m-q4_k_m.gguf
port: 8090
context: 2048
slots: 2
\#(demoCPUServer)burst: demo-burst
output_reserve: 256

"""#

    /// `runtimes/demo-burst.yaml` as the repository ships it.
    public static let demoBurst = #"""
# Stands in for the cloud in the demo: a second supervised llama-server with a larger context.
# (Not `extends: demo-local`: it would inherit `burst: demo-burst` and burst to itself.)
kind: llama-server
description: larger-context stand-in for a cloud burst profile
model: ${HERMES_RUNTIME_CACHE:-~/.cache/hermes-runtime}/models/gemma-3-270m-q4_k_m.gguf
port: 8091
context: 8192
slots: 1
\#(demoCPUServer)
"""#

    /// Profile name -> text.
    public static let all: [String: String] = [
        "coding-local": codingLocal,
        "coding-burst": codingBurst,
        "coding-burst-together": codingBurstTogether,
        "review-cheap": reviewCheap,
        "demo-local": demoLocal,
        "demo-burst": demoBurst,
    ]
}

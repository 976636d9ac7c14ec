"""The rules, in the order their findings are reported. Each is a function ``(lock, host, target) ->
list[Finding]`` in its own module; ``gpu`` marks rules whose failures ``--cpu-only`` accepts as warnings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...model import Snapshot
from ..report import Finding
from ..target import Target
from . import (
    cpu_isa,
    cuda_libs,
    cuda_present,
    disk,
    docker,
    driver,
    glibc,
    gpu_arch,
    gpu_memory,
    platform,
    python,
    wheels,
)

RuleFunction = Callable[[Snapshot, Snapshot, Target], list[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    evaluate: RuleFunction
    gpu: bool = False


RULES: tuple[Rule, ...] = (
    Rule(platform.NAME, platform.check),
    Rule(docker.NAME, docker.check),
    Rule(docker.GPU_NAME, docker.check_gpu_runtime, gpu=True),
    Rule(python.NAME, python.check),
    Rule(wheels.NAME, wheels.check),
    Rule(glibc.NAME, glibc.check),
    Rule(cpu_isa.NAME, cpu_isa.check),
    Rule(cuda_present.NAME, cuda_present.check, gpu=True),
    Rule(driver.NAME, driver.check, gpu=True),
    Rule(gpu_arch.NAME, gpu_arch.check, gpu=True),
    Rule(cuda_libs.NAME, cuda_libs.check, gpu=True),
    Rule(gpu_memory.NAME, gpu_memory.check, gpu=True),
    Rule(disk.NAME, disk.check),
)

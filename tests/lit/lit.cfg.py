# lit configuration: one small file per behaviour, per compiler stage.
#   parse/      the AST printer (lmc emit --stage=ast)
#   sema/       diagnostics for malformed programs (lmc check)
#   dialect/    lm dialect round-trip and verifiers (lm-opt)
#   autodiff/   the gradient IR (lm-opt --lm-autodiff)
#   conversion/ lm -> linalg -> LLVM (lm-opt, lmc emit)
#   e2e/        compile, run and check numbers
import os
import lit.formats

config.name = "lm"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".lm", ".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.lm_obj_root

config.environment["PATH"] = os.pathsep.join(
    [config.lm_bin_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.environment["LM_CACHE"] = os.path.join(config.lm_obj_root, "lm-cache")
config.substitutions.append(("%lmrt", os.path.join(config.lm_bin_dir, "..", "lib", "liblmrt.a")))
config.substitutions.append(("%lmc", os.path.join(config.lm_bin_dir, "lmc")))
config.substitutions.append(("%examples", os.path.join(config.lm_src_dir, "examples")))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))

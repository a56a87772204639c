//===- lm-opt.cpp - mlir-opt with the lm dialect and passes ---------------===//
#include "lm/Conversion/Pipeline.h"
#include "lm/Dialect/LMDialect.h"
#include "lm/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  lm::registerLMPasses();
  lm::registerPipelines();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<lm::LMDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "lm optimizer driver\n", registry));
}

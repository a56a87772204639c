//===- main.cpp - Entry of every compiled experiment ----------------------===//
#include "lm/Runtime.h"

int main(int argc, char **argv) {
  return lm::rt::runExperiment(lm_descriptor, lm_entries, lm_num_entries, argc, argv);
}

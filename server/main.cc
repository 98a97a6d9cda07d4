// vaultnfs: the command-line tool (see server/cli.h for the commands).
#include "server/cli.h"

int main(int argc, char** argv) { return vaultnfs::cli::Main(argc, argv); }

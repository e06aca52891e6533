// Compiles a Solidity file with solc (npm) and prints {"abi": [...], "bytecode": "0x..."} for
// the named contract. Usage: node compile_sol.js FILE CONTRACT
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [file, contract] = process.argv.slice(2);
const input = {
  language: "Solidity",
  sources: { [path.basename(file)]: { content: fs.readFileSync(file, "utf8") } },
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const c = output.contracts[path.basename(file)][contract];
console.log(JSON.stringify({ abi: c.abi, bytecode: "0x" + c.evm.bytecode.object }));

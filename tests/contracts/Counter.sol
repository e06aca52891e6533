// SPDX-License-Identifier: MIT
// A small contract for the Neo X chain-layer tests: state, an event with indexed and
// dynamic fields, and every kind of revert a caller must be able to read.
pragma solidity ^0.8.20;

contract Counter {
    uint256 public value;

    event Set(address indexed who, uint256 value, string note);

    error NotAllowed(uint256 code);

    function set(uint256 v, string calldata note) external {
        value = v;
        emit Set(msg.sender, v, note);
    }

    function fail() external pure {
        revert("nope");
    }

    function failCustom() external pure {
        revert NotAllowed(7);
    }

    function increment(uint8 a) external pure returns (uint8) {
        return a + 1;  // panics (0x11) for 255
    }
}

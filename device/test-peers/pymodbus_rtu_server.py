#!/usr/bin/python3
"""A Modbus RTU server from an independent implementation (Debian's python3-pymodbus 3.0), loaded with
MeterSeal hardware profiles' register maps, for the device's interop tests.

Usage: /usr/bin/python3 pymodbus_rtu_server.py SPEC.json

SPEC: {"port": "/dev/pts/N", "baudrate": 9600,
       "units": [{"unit": 1, "profile": {...profile JSON...}, "values": {"register_name": number, ...}}]}
values are in each register's source unit (as the meter's manual states them). Encoding is done here with
Python's struct, independently of @meterseal/hardware: float32 '>f', int32 '>i', uint32 '>I', int16 '>h',
uint16 '>H'; wordOrder "little" swaps the two 16-bit words of a 32-bit value.
Prints READY on stdout once the serial port is open. 8N1 (a pty carries no parity).
"""
import asyncio
import json
import struct
import sys

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.server import StartAsyncSerialServer
from pymodbus.transaction import ModbusRtuFramer

FORMATS = {"float32": ">f", "int32": ">i", "uint32": ">I", "int16": ">h", "uint16": ">H"}


def words(reg, value):
    fmt = FORMATS[reg["type"]]
    raw = struct.pack(fmt, value if reg["type"] == "float32" else int(round(value)))
    ws = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    if len(ws) == 2 and reg.get("wordOrder", "big") == "little":
        ws.reverse()
    return ws


def address(a):
    return int(a, 16) if isinstance(a, str) else int(a)


def unit_context(spec):
    tables = {3: {}, 4: {}}
    for reg in spec["profile"]["registers"]:
        value = spec["values"][reg["name"]]
        for i, w in enumerate(words(reg, value)):
            tables[reg["functionCode"]][address(reg["address"]) + i] = w
    # zero_mode: PDU address n is register n (pymodbus otherwise adds 1). Unmapped addresses: exception 02.
    return ModbusSlaveContext(
        hr=ModbusSparseDataBlock(tables[3] or {0: 0}), ir=ModbusSparseDataBlock(tables[4] or {0: 0}), zero_mode=True
    )


async def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    slaves = {u["unit"]: unit_context(u) for u in spec["units"]}
    context = ModbusServerContext(slaves=slaves, single=False)
    server = await StartAsyncSerialServer(
        context=context,
        framer=ModbusRtuFramer,  # the serial server defaults to ASCII
        port=spec["port"],
        baudrate=spec.get("baudrate", 9600),
        bytesize=8,
        parity="N",
        stopbits=1,
        defer_start=True,
    )
    await server.start()
    print("READY", flush=True)
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

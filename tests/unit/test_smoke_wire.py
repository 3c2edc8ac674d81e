from support import API


async def test_wire_sequence(wire, wire_client):
    wire.get(f"{API}/api/v1/wallets", status=503)
    wire.get(f"{API}/api/v1/wallets", payload=[{"id": 1, "currency": "USD", "balance": 1.5}])
    wallets = await wire_client.wallets.list()
    assert wallets[0].id == 1

"""A plain sync test: the plugin leaves it alone."""

from giftshop import Receipt


def test_a_receipt_knows_whether_it_was_delivered():
    assert Receipt("r-1", "DELIVERED", "Delivered", order_id=1).delivered
    assert not Receipt("r-2", "PENDING", "On its way").delivered

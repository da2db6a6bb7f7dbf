"""Satisfaction surveys (CSAT): a closed room's survey, sent over the customer's last
channel, and the customers' ratings."""

"""The numbers an MSP reports to its clients, per company and month."""

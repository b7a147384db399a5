"""Shadow runs (issue 17): a candidate configuration beside the live one on live traffic.
`loyalty-shadow` (`running`) follows the archive of decided events for each running shadow
run, decides every new event under the candidate (`evidence.shadowing`, pure) and stores the
decisions (`store`); nothing is booked. `report` compares them with the live decisions over
any period, as a backtest's report (docs/decisions/0018)."""
